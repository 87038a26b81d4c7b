// Placeholder while the cost model is written.
