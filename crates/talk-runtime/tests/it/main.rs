//! talk-runtime's serving, for real on loopback: health and metrics on the
//! ops port, and mutual TLS between services with a CA and certificates made
//! at test time.

mod ops;
mod pki;
mod tls;
