// Package deps holds only a test: it enforces the import direction of the
// layout described in docs/architecture.md, so that the model stays sans-IO
// and the renderers stay readable without the producers.
package deps
