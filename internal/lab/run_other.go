//go:build !linux

package lab

import (
	"context"

	"arplab/internal/labsys"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// RunScenario is unsupported on this system.
func RunScenario(ctx context.Context, s *scenario.Scenario, opt RunOptions, sink trace.Sink) (*LabRun, error) {
	return nil, labsys.ErrUnsupported
}
