"""Browser tests of the back office (marked e2e)."""
