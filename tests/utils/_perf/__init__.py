"""Private implementation of the performance toolkit; the public names live in
`tests.utils.performance_tracker`."""
