//! End-to-end tests of messages through the public API (see the module docs inside).
