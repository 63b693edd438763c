//! The routes of both path families, registered together with their OpenAPI
//! description so the spec at `/openapi.json` is generated from the same table
//! that builds the router.

pub mod accesskeys;
pub mod agents;
pub mod auth;
pub mod files;
pub mod messages;
pub mod openapi;
pub mod participants;
pub mod receipts;
pub mod search;
pub mod settings;
pub mod signals;
pub mod talks;
pub mod webhooks;

use std::borrow::Cow;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::AppState;

/// Collects a schema and the schemas it refers to.
pub type Collect = fn(&mut Vec<(String, RefOr<Schema>)>);

/// A reference to a named schema.
#[derive(Clone, Debug)]
pub struct SchemaRef {
    /// Component name.
    pub name: Cow<'static, str>,
    /// Adds it (and what it refers to) to the components.
    pub collect: Collect,
}

fn collect<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

impl SchemaRef {
    fn of<T: ToSchema>() -> Self {
        Self {
            name: T::name(),
            collect: collect::<T>,
        }
    }
}

/// What a successful response carries.
#[derive(Clone, Debug)]
pub enum Shape {
    /// One object of a schema.
    One(SchemaRef),
    /// A bare JSON array of a schema.
    Array(SchemaRef),
    /// The literal `null`.
    Null,
}

/// The OpenAPI description of one operation.
#[derive(Clone, Debug)]
pub struct Doc {
    /// Tag (group) in the spec.
    pub tag: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Request body, if any.
    pub body: Option<SchemaRef>,
    /// Success status and shape.
    pub success: (u16, Shape),
    /// Query parameters: (name, required, description).
    pub query: Vec<(&'static str, bool, &'static str)>,
    /// Whether a token is required.
    pub auth: bool,
}

/// A new description; by default it needs a token and answers 200 `null`.
pub fn doc(tag: &'static str, summary: &'static str) -> Doc {
    Doc {
        tag,
        summary,
        body: None,
        success: (200, Shape::Null),
        query: Vec::new(),
        auth: true,
    }
}

impl Doc {
    /// Takes a JSON body of `T`.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some(SchemaRef::of::<T>());
        self
    }

    /// Answers `status` with a `T`.
    pub fn ok<T: ToSchema>(mut self, status: u16) -> Self {
        self.success = (status, Shape::One(SchemaRef::of::<T>()));
        self
    }

    /// Answers 200 with a bare array of `T`.
    pub fn array<T: ToSchema>(mut self) -> Self {
        self.success = (200, Shape::Array(SchemaRef::of::<T>()));
        self
    }

    /// Takes `page_size` and `page_token`.
    pub fn paged(mut self) -> Self {
        self.query.push((
            "page_size",
            false,
            "Items per page (1–100; default and cap 100).",
        ));
        self.query
            .push(("page_token", false, "next_page_token of the previous page."));
        self
    }

    /// Takes another query parameter.
    pub fn query(mut self, name: &'static str, required: bool, description: &'static str) -> Self {
        self.query.push((name, required, description));
        self
    }

    /// Needs no token.
    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }
}

/// One registered operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// HTTP method.
    pub method: Method,
    /// Path with `{param}` placeholders.
    pub path: &'static str,
    /// Its description.
    pub doc: Doc,
}

/// The router under construction and the operations it serves.
pub struct Registry {
    router: Router<AppState>,
    operations: Vec<Operation>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            operations: Vec::new(),
        }
    }

    /// Serves `handler` at `method path` and records its description.
    pub fn add<H, T>(mut self, method: Method, path: &'static str, handler: H, doc: Doc) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        self.router = self.router.route(path, on(filter, handler));
        self.operations.push(Operation { method, path, doc });
        self
    }

    /// The router and the operations.
    pub fn finish(self) -> (Router<AppState>, Vec<Operation>) {
        (self.router, self.operations)
    }
}

/// Every route of the public API.
pub fn all() -> Registry {
    let registry = Registry::new();
    let registry = auth::register(registry);
    let registry = agents::register(registry);
    let registry = talks::register(registry);
    let registry = participants::register(registry);
    let registry = settings::register(registry);
    let registry = signals::register(registry);
    let registry = receipts::register(registry);
    let registry = accesskeys::register(registry);
    let registry = webhooks::register(registry);
    let registry = files::register(registry);
    let registry = search::register(registry);
    messages::register(registry)
}
