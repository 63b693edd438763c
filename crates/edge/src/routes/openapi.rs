//! `GET /openapi.json`: the OpenAPI 3.1 spec generated from the route
//! registry (every route the router serves appears, with its body, success
//! shape, parameters and error responses).
//!
//! The response shapes are `talk-wire`'s types (they derive their schemas);
//! [`schemas`] only adds the list envelopes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, Schema,
};

use super::{Operation, SchemaRef, Shape};

pub use schemas::{
    AgentPage as AgentPageDoc, EditList as EditListDoc, MessageList as MessageListDoc,
    MessagePage as MessagePageDoc, TalkPage as TalkPageDoc,
};
pub use talk_wire::{
    Agent as AgentDoc, Message as MessageDoc, Participant as ParticipantDoc,
    ReadState as ReadStateDoc, Talk as TalkDoc,
};

/// The spec, built once.
pub type Spec = Arc<serde_json::Value>;

/// `GET /openapi.json`.
pub async fn serve(State(spec): State<Spec>) -> Json<serde_json::Value> {
    Json((*spec).clone())
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

fn reference(schema: &SchemaRef) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(schema.name.clone()))
}

fn json(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            json(RefOr::Ref(Ref::from_schema_name("ErrorResponse"))),
        )
        .build()
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn operation(
    op: &Operation,
    collected: &mut Vec<(String, RefOr<Schema>)>,
) -> utoipa::openapi::path::Operation {
    let doc = &op.doc;
    let mut builder = OperationBuilder::new()
        .tag(doc.tag)
        .summary(Some(doc.summary))
        .operation_id(Some(format!(
            "{}_{}",
            op.method.as_str().to_lowercase(),
            op.path
                .trim_start_matches('/')
                .replace(['/', '{', '}', '.'], "_")
        )));
    for name in path_params(op.path) {
        let description = if name == "emoji" {
            "A URL-encoded emoji."
        } else {
            "A UUID."
        };
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    for (name, required, description) in &doc.query {
        let kind = if matches!(*name, "page_size" | "after_seq") {
            Type::Integer
        } else {
            Type::String
        };
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(if *required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(*description))
                .schema(Some(ObjectBuilder::new().schema_type(kind))),
        );
    }
    if let Some(body) = &doc.body {
        (body.collect)(collected);
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json(reference(body)))
                .build(),
        ));
    }
    let (status, shape) = &doc.success;
    let success = match shape {
        Shape::One(schema) => {
            (schema.collect)(collected);
            json(reference(schema))
        }
        Shape::Array(schema) => {
            (schema.collect)(collected);
            json(ArrayBuilder::new().items(reference(schema)).build().into())
        }
        Shape::Null => json(ObjectBuilder::new().schema_type(Type::Null).build().into()),
    };
    builder = builder.response(
        status.to_string(),
        ResponseBuilder::new()
            .description("Success")
            .content("application/json", success)
            .build(),
    );
    builder = builder.response("400", error("Invalid input (reason says what is wrong)"));
    if doc.auth {
        builder = builder
            .response("401", error("Missing or invalid token"))
            .response("403", error("Not allowed"))
            .response("404", error("Not found"))
            .response("409", error("Conflicting state (e.g. a closed talk)"))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .security(SecurityRequirement::new("accesskey", Vec::<String>::new()));
    } else {
        builder = builder.response("401", error("Wrong credentials"));
    }
    builder = builder.response("413", error("Body over the size limit"));
    builder.build()
}

/// The OpenAPI document of `operations`.
pub fn spec(operations: &[Operation]) -> OpenApi {
    let mut collected = Vec::new();
    let mut by_path: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in operations {
        by_path.entry(op.path).or_default().push(op);
    }
    let mut paths = PathsBuilder::new();
    for (path, ops) in by_path {
        let mut item: Option<PathItem> = None;
        for op in ops {
            let built = operation(op, &mut collected);
            item = Some(match item {
                None => PathItem::new(http_method(&op.method), built),
                Some(mut existing) => {
                    existing.merge_operations(PathItem::new(http_method(&op.method), built));
                    existing
                }
            });
        }
        if let Some(item) = item {
            paths = paths.path(path, item);
        }
    }
    schemas::error_schemas(&mut collected);
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .security_scheme(
            "accesskey",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("accesskey"))),
        );
    for (name, schema) in collected {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Talk API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Talk's public REST API: VoIPBIN-compatible /v1.0/service_agents/talk_* paths and the seed-style /v1.0/talks and /v1.0/messages paths. Tokens: cookie `token`, `?token=` or `Authorization: Bearer`; access keys: `Authorization: Bearer vb_…`, cookie `accesskey` or `?accesskey=`.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}

pub mod schemas;
