//! End-to-end tests of talks through the public API (see the module docs inside).
