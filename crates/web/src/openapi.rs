//! The OpenAPI 3.0.3 description of the API, generated from the configuration tree and the
//! command catalogue, so that it cannot drift from what the server accepts.
//!
//! Configuration elements are described once per template (`Zones Zone [1..1000] Name`): the
//! concrete paths a client sends and receives put the row number in place of the range, which
//! OpenAPI 3.0 has no way to express as a property name pattern.

use causeway_config::schema::{Element, Valuespace, ELEMENTS};
use causeway_xapi::spec::{commands, CommandSpec, ParamSpec};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The document (built on first use).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn reference(kind: &str, name: &str) -> Value {
    json!({ "$ref": format!("#/components/{kind}/{name}") })
}

fn schema_ref(name: &str) -> Value {
    reference("schemas", name)
}

fn json_body(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// The responses every authenticated call may give besides its own.
fn responses(ok: (&str, Value), errors: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert(
        "200".into(),
        json!({ "description": ok.0, "content": json_body(ok.1) }),
    );
    for e in ["401", "403"].iter().chain(errors) {
        let name = match *e {
            "400" => "BadRequest",
            "401" => "Unauthorized",
            "403" => "Forbidden",
            "404" => "NotFound",
            "413" => "PayloadTooLarge",
            "415" => "UnsupportedMediaType",
            "501" => "NotImplemented",
            _ => "Unavailable",
        };
        m.insert((*e).into(), reference("responses", name));
    }
    Value::Object(m)
}

fn build() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();

    paths.insert(
        "/api/openapi.json".into(),
        json!({ "get": {
            "tags": ["meta"],
            "operationId": "getOpenApi",
            "summary": "This document (no login needed).",
            "security": [],
            "responses": { "200": {
                "description": "The OpenAPI document.",
                "content": json_body(json!({ "type": "object" })),
            }},
        }}),
    );

    let write_errors = &["400", "413", "415", "503"][..];
    paths.insert(
        "/api/configuration".into(),
        json!({
            "get": {
                "tags": ["configuration"],
                "operationId": "getConfiguration",
                "summary": "Every element: the stored value, or the default.",
                "description": "Tables of up to 10 rows list every row; larger tables list the rows that hold a value. Secrets read as \"***\".",
                "responses": responses(("Element values by path.", schema_ref("Configuration")), &["503"]),
            },
            "put": {
                "tags": ["configuration"],
                "operationId": "putConfiguration",
                "summary": "Sets several elements in one commit: all of them, or none.",
                "description": "Keys are element paths as the command line prints them (\"Zones Zone 3 Name\"). null returns an element to its default. A secret given as \"***\" (as it reads) is left unchanged.",
                "requestBody": { "required": true, "content": json_body(schema_ref("Configuration")) },
                "responses": responses(("The change was committed.", schema_ref("XapiResponse")), write_errors),
            },
        }),
    );
    let path_param = json!({
        "name": "path",
        "in": "path",
        "required": true,
        "description": "The words of an element or group path separated by '/', e.g. SIP/Mode or Zones/Zone/3. Words match without regard to case.",
        "schema": { "type": "string" },
    });
    let mut put_errors = write_errors.to_vec();
    put_errors.push("404");
    paths.insert(
        "/api/configuration/{path}".into(),
        json!({
            "parameters": [path_param],
            "get": {
                "tags": ["configuration"],
                "operationId": "getConfigurationPath",
                "summary": "One element, or every element of a group or table row.",
                "responses": responses(("Element values by path.", schema_ref("Configuration")), &["404", "503"]),
            },
            "put": {
                "tags": ["configuration"],
                "operationId": "putConfigurationPath",
                "summary": "Sets one element (null: back to its default).",
                "requestBody": { "required": true, "content": json_body(schema_ref("ConfigurationValue")) },
                "responses": responses(("The change was committed.", schema_ref("XapiResponse")), &put_errors),
            },
            "delete": {
                "tags": ["configuration"],
                "operationId": "deleteConfigurationRow",
                "summary": "Removes one table row (e.g. Zones/Zone/3) with all its elements.",
                "responses": responses(("The row was removed.", schema_ref("XapiResponse")), &["400", "404", "503"]),
            },
        }),
    );

    let status_errors = &["404", "501", "503"][..];
    paths.insert(
        "/api/status".into(),
        json!({ "get": {
            "tags": ["status"],
            "operationId": "getStatus",
            "summary": "Every status group this server fills.",
            "responses": responses(("Status values by path.", schema_ref("Status")), status_errors),
        }}),
    );
    paths.insert(
        "/api/status/{group}".into(),
        json!({ "get": {
            "tags": ["status"],
            "operationId": "getStatusGroup",
            "summary": "One status group; more words after it ('/'-separated) narrow it down.",
            "parameters": [{
                "name": "group",
                "in": "path",
                "required": true,
                "schema": { "type": "string", "enum": causeway_xapi::status::groups() },
            }],
            "responses": responses(("Status values by path.", schema_ref("Status")), status_errors),
        }}),
    );

    for c in commands() {
        let schema = format!("Command.{}", c.name);
        schemas.insert(schema.clone(), command_schema(c));
        paths.insert(
            format!("/api/command/{}", c.name),
            json!({ "post": {
                "tags": ["commands"],
                "operationId": format!("command{}", c.name),
                "summary": format!("xCommand {}", c.name),
                "requestBody": { "required": true, "content": json_body(schema_ref(&schema)) },
                "responses": responses(
                    ("The command ran; its result record is in results.", schema_ref("XapiResponse")),
                    &["400", "413", "415", "501", "503"],
                ),
            }}),
        );
    }

    paths.insert(
        "/api/xapi".into(),
        json!({ "post": {
            "tags": ["xapi"],
            "operationId": "xapi",
            "summary": "Runs one command line (xConfiguration, xCommand or xStatus) and answers with its records and the text the command line prints.",
            "requestBody": { "required": true, "content": json_body(schema_ref("XapiRequest")) },
            "responses": responses(("The line ran.", schema_ref("XapiResponse")), &["400", "413", "415", "501", "503"]),
        }}),
    );

    let usage = |op: &str, summary: &str, params: Value, ok: Value| {
        json!({ "get": {
            "tags": ["callusage"],
            "operationId": op,
            "summary": summary,
            "parameters": params,
            "responses": responses(("The records.", ok), &["400", "503"]),
        }})
    };
    let records = json!({ "type": "array", "items": schema_ref("CallDetailRecord") });
    let query = |name: &str, required: bool, what: &str| {
        json!({ "name": name, "in": "query", "required": required, "description": what,
                "schema": { "type": "string" } })
    };
    paths.insert(
        "/api/external/callusage/get_all_records".into(),
        usage(
            "cdrAll",
            "Every call detail record kept (seven days).",
            json!([]),
            records.clone(),
        ),
    );
    paths.insert(
        "/api/external/callusage/get_records_for_interval".into(),
        usage(
            "cdrInterval",
            "Records of calls that started between two times.",
            json!([
                query("fromtime", true, "YYYY-MM-DD HH:MM:SS, UTC"),
                query("totime", true, "YYYY-MM-DD HH:MM:SS, UTC"),
            ]),
            records.clone(),
        ),
    );
    paths.insert(
        "/api/external/callusage/get_records_for_filter".into(),
        usage(
            "cdrFilter",
            "Records matching every filter given (at least one).",
            json!([
                query("uuid", false, "the record's uuid"),
                query("src_alias", false, "the source alias, ignoring case"),
                query("dest_alias", false, "the destination alias, ignoring case"),
                query("protocol", false, "e.g. SIP <-> SIP, ignoring case"),
            ]),
            records,
        ),
    );
    let mut csv_get = usage(
        "cdrCsv",
        "Every record kept, as CSV with a header row.",
        json!([]),
        json!({ "type": "string" }),
    );
    csv_get["get"]["responses"]["200"]["content"] =
        json!({ "text/csv": { "schema": { "type": "string" } } });
    paths.insert(
        "/api/external/callusage/get_all_csv_records".into(),
        csv_get,
    );
    let mut cdr_props = Map::new();
    for c in causeway_cdr::CSV_COLUMNS {
        let t = if c.ends_with("_tokens") || *c == "last_updated_timestamp" {
            "integer"
        } else {
            "string"
        };
        cdr_props.insert((*c).into(), json!({ "type": t }));
    }
    schemas.insert(
        "CallDetailRecord".into(),
        json!({ "type": "object", "properties": cdr_props }),
    );

    schemas.insert("Configuration".into(), configuration_schema());
    schemas.insert(
        "ConfigurationValue".into(),
        json!({
            "type": "object",
            "required": ["value"],
            "additionalProperties": false,
            "properties": { "value": {
                "type": "string",
                "nullable": true,
                "description": "The new value; integers may be JSON numbers; null returns the element to its default.",
            }},
        }),
    );
    schemas.insert(
        "Status".into(),
        json!({
            "type": "object",
            "description": "Status values by path (group first), as text.",
            "additionalProperties": { "type": "string" },
        }),
    );
    schemas.insert(
        "XapiRequest".into(),
        json!({
            "type": "object",
            "required": ["command"],
            "properties": { "command": { "type": "string", "example": "xConfiguration SIP Mode" } },
        }),
    );
    schemas.insert("XapiResponse".into(), xapi_response_schema());
    schemas.insert("Error".into(), error_schema());

    let error = |d: &str| json!({ "description": d, "content": json_body(schema_ref("Error")) });
    let mut unauthorized = error("No credentials, or a wrong name or password.");
    unauthorized["headers"] = json!({ "WWW-Authenticate": {
        "description": "The Basic challenge.",
        "schema": { "type": "string" },
    }});

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "causeway REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Configuration, status and commands of a causeway node. Every call runs as the administrator account that logs in with HTTP Basic authentication, with that account's access level. POST and PUT bodies must be sent as application/json. Errors answer {\"error\", \"message\"}.",
            "license": { "name": "Apache-2.0" },
        },
        "servers": [{ "url": "/" }],
        "security": [{ "basic": [] }],
        "tags": [
            { "name": "configuration", "description": "The configuration tree (xConfiguration)." },
            { "name": "status", "description": "Status (xStatus)." },
            { "name": "commands", "description": "Commands (xCommand), one path each." },
            { "name": "xapi", "description": "Any command line." },
            { "name": "meta", "description": "This description." },
        ],
        "paths": paths,
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic" } },
            "schemas": schemas,
            "responses": {
                "BadRequest": error("The body, a path in it or a value was refused; path and valuespace name what."),
                "Unauthorized": unauthorized,
                "Forbidden": error("The account may not use the API, or its access level does not allow this."),
                "NotFound": error("No such element, row, status path or command."),
                "PayloadTooLarge": error("The body is larger than 1 MiB."),
                "UnsupportedMediaType": error("The body was not sent as application/json."),
                "NotImplemented": error("This version does not do this yet."),
                "Unavailable": error("It needs a service that is not running, or the login could not be checked."),
            },
        },
    })
}

/// An element's value as a schema: its type and limits, its default, whether it is a secret.
fn element_schema(e: &Element) -> Value {
    let mut s = match e.valuespace {
        Valuespace::Int { min, max } => {
            json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max })
        }
        Valuespace::Str { min, max, secret } => {
            let mut s = json!({ "type": "string", "minLength": min, "maxLength": max });
            if secret {
                s["format"] = json!("password");
                s["writeOnly"] = json!(true);
            }
            s
        }
        Valuespace::Enum { values, .. } => json!({ "type": "string", "enum": values }),
    };
    s["nullable"] = json!(true);
    if let Some(d) = e.default {
        s["default"] = match e.valuespace {
            Valuespace::Int { .. } => d.parse::<i64>().map(Value::from).unwrap_or(json!(d)),
            _ => json!(d),
        };
    }
    let mut notes = vec![e.valuespace.notation()];
    if e.restart {
        notes.push("applies after a restart".into());
    }
    if e.peer_specific {
        notes.push("this cluster peer only".into());
    }
    if e.ours {
        notes.push("causeway's own element".into());
    }
    s["description"] = json!(notes.join("; "));
    s
}

fn configuration_schema() -> Value {
    let mut props = Map::new();
    for e in ELEMENTS.iter() {
        props.insert(e.path.to_string(), element_schema(e));
    }
    json!({
        "type": "object",
        "description": "Element values by path. Properties are listed per template: in a table, the row number takes the place of the range ([1..1000]). Integers are JSON numbers; an element with no value is null; secrets read as \"***\".",
        "properties": props,
        "additionalProperties": true,
    })
}

fn param_schema(p: &ParamSpec) -> Value {
    let mut s = match &p.valuespace {
        Some(vs) if vs.kind == "int" => {
            let mut s = json!({ "type": "integer", "format": "int64" });
            if let Some(min) = vs.min {
                s["minimum"] = json!(min);
            }
            if let Some(max) = vs.max {
                s["maximum"] = json!(max);
            }
            s
        }
        Some(vs) if vs.kind == "enum" => json!({ "type": "string", "enum": vs.values }),
        Some(vs) if vs.kind != "unspecified" => json!({
            "type": "string",
            "minLength": vs.min.unwrap_or(0).max(0),
            "maxLength": vs.max.unwrap_or(1024),
        }),
        _ => json!({ "type": "string", "maxLength": 1024 }),
    };
    if let Some(d) = &p.default {
        s["default"] = match p.valuespace.as_ref().map(|v| v.kind.as_str()) {
            Some("int") => d.parse::<i64>().map(Value::from).unwrap_or(json!(d)),
            _ => json!(d),
        };
    }
    s
}

fn command_schema(c: &CommandSpec) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in &c.parameters {
        props.insert(p.name.clone(), param_schema(p));
        if p.required {
            required.push(p.name.clone());
        }
    }
    let mut s = json!({
        "type": "object",
        "description": format!("Parameters of xCommand {}; names match without regard to case.", c.name),
        "properties": props,
        "additionalProperties": false,
    });
    // OpenAPI 3.0 wants a non-empty list when `required` is present.
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

fn xapi_response_schema() -> Value {
    json!({
        "type": "object",
        "required": ["ok", "text"],
        "properties": {
            "ok": { "type": "boolean" },
            "error": { "type": "string", "enum": ["Refused", "Denied", "Unavailable", "NotImplemented"] },
            "message": { "type": "string", "description": "Why it failed (only when it failed)." },
            "configuration": { "type": "object", "additionalProperties": { "type": "string" } },
            "status": { "type": "object", "additionalProperties": { "type": "string" } },
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "ok": { "type": "boolean" },
                        "fields": { "type": "object", "additionalProperties": true },
                    },
                },
            },
            "help": { "type": "array", "items": { "type": "string" } },
            "text": { "type": "string", "description": "The records as the command line prints them." },
        },
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": { "type": "string", "description": "One word: Refused, Denied, Unavailable, NotImplemented, Unauthorized, Forbidden, NotFound, MethodNotAllowed, BadRequest, PayloadTooLarge, UnsupportedMediaType or Internal." },
            "message": { "type": "string" },
            "path": { "description": "The configuration path(s) concerned.", "oneOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } },
            ]},
            "valuespace": { "type": "string" },
            "parameter": { "type": "string" },
            "text": { "type": "string", "description": "The error record as the command line prints it." },
        },
    })
}
