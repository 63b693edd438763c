//! webhook-service's own tests against real PostgreSQL: its queries.

mod purge;
