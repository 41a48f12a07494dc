"""The integration helpers' parts, one concept per module; `tests.utils.integration_helpers`
re-exports them."""
