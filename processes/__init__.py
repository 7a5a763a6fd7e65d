"""The engine runtime around SpiffWorkflow: catalog, runtime, store, scheduler, sandboxed scripting."""
