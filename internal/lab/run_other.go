//go:build !linux

package lab

import (
	"context"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// RunScenario is unsupported on this system.
func RunScenario(ctx context.Context, s *scenario.Scenario, opt RunOptions, sink trace.Sink) (*LabRun, error) {
	return nil, ErrUnsupported
}

// NeighTable is unsupported on this system.
func (h *Host) NeighTable() (TableInfo, map[int]NeighParams, error) {
	return TableInfo{}, nil, ErrUnsupported
}
