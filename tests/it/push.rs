//! End-to-end tests of push through the public API (see the module docs inside).
