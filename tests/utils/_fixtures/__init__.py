"""Parts of `tests.utils.test_fixtures`, which re-exports them."""
