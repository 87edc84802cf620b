//! `/api/v1/openapi.json`: the API described as OpenAPI 3.1, made from the route table,
//! so the description cannot drift from what is served.

use axum::Json;
use axum::http::Method;
use serde_json::{Value, json};

use super::{Access, SESSION_COOKIE, routes};

/// The OpenAPI 3.1 document of [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "x-access": route.access.describe(),
            "parameters": parameters,
            "responses": {
                "default": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if let Some((status, schema)) = success_of(&route.method, route.path) {
            operation["responses"][status.to_string()] = match schema {
                None => json!({"description": "Done; no content"}),
                Some("Bytes") => json!({
                    "description": "The bytes",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                }),
                Some("EventStream") => json!({
                    "description": "Server-Sent Events: each `data:` line is one Event (JSON), with its `id:`; a comment every 15 s",
                    "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/Event"}}},
                }),
                Some(name) => json!({
                    "description": "Success",
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}},
                }),
            };
        }
        if route.access != Access::Public {
            operation["security"] = json!([{"session": []}, {"token": []}]);
        }
        if !route.body.is_empty() {
            let properties: serde_json::Map<String, Value> = route
                .body
                .iter()
                .map(|(name, kind, _)| {
                    let schema = match *kind {
                        "array" => json!({"type": "array", "items": {"type": "string"}}),
                        "objects" => json!({"type": "array", "items": {"type": "object"}}),
                        "integers" => json!({"type": "array", "items": {"type": "integer"}}),
                        "binary" => json!({"type": "string", "format": "binary"}),
                        either if either.contains('|') => {
                            json!({"type": either.split('|').collect::<Vec<_>>()})
                        }
                        one => json!({"type": one}),
                    };
                    ((*name).to_owned(), schema)
                })
                .collect();
            let required: Vec<&str> = route.body.iter().filter(|f| f.2).map(|f| f.0).collect();
            let media = if route.body.iter().any(|(_, kind, _)| *kind == "binary") {
                "multipart/form-data"
            } else {
                "application/json"
            };
            operation["requestBody"] = json!({
                "required": true,
                "content": {media: {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": properties, "required": required,
                }}},
            });
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_lowercase()] = operation;
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {"title": "Workspace API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "User": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("status", "string"),
                    ("switches", "array|null"), ("access_expires_at", "string|null"),
                    ("last_sign_in_at", "string|null"), ("created_at", "string"),
                ]),
                "Invited": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("status", "string"),
                    ("invitation_url", "string"), ("invitation_expires_at", "string"),
                    ("invitation_mailed", "boolean"), ("invitation_note", "string"),
                ]),
                "Me": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("permissions", "array"),
                ]),
                "SignedIn": json!({"type": "object", "properties": {
                    "user": {"$ref": "#/components/schemas/Me"}, "expires_at": {"type": "string"}}}),
                "Role": object(&[
                    ("id", "string"), ("name", "string"), ("kind", "string"), ("permissions", "array"),
                    ("builtin", "boolean"), ("editable", "boolean"),
                ]),
                "Team": object(&[("id", "string"), ("name", "string"), ("members", "array"), ("created_at", "string")]),
                "Member": object(&[("id", "string")]),
                "Company": object(&[("id", "string"), ("name", "string"), ("details", "string"), ("currency", "string|null"), ("country", "string|null"), ("tax_id", "string|null"), ("created_at", "string")]),
                "Session": object(&[
                    ("id", "string"), ("client_address", "string"), ("user_agent", "string"),
                    ("created_at", "string"), ("last_seen_at", "string"), ("expires_at", "string"),
                    ("current", "boolean"),
                ]),
                "Token": object(&[
                    ("id", "string"), ("name", "string"), ("expires_at", "string|null"),
                    ("last_used_at", "string|null"), ("created_at", "string"),
                ]),
                "NewToken": object(&[
                    ("id", "string"), ("name", "string"), ("expires_at", "string|null"),
                    ("created_at", "string"), ("token", "string"),
                ]),
                "AuditEntry": object(&[
                    ("id", "string"), ("actor", "string|null"), ("actor_name", "string"),
                    ("action", "string"), ("target_type", "string"), ("target_id", "string"),
                    ("before", "object|null"), ("after", "object|null"),
                    ("client_address", "string"), ("at", "string"),
                ]),
                "Brand": object(&[("brand", "string"), ("domain", "string"), ("read_only", "boolean")]),
                "Notice": object(&[("message", "string"), ("mailed", "boolean")]),
                "Message": object(&[("message", "string")]),
                "TotpStatus": object(&[("enabled", "boolean"), ("recovery_codes_left", "integer")]),
                "SecuritySettings": object(&[("require_totp_for_staff", "boolean")]),
                "Branding": object(&[
                    ("name", "string"), ("primary_colour", "string"), ("accent_colour", "string"),
                    ("sign_in_message", "string|null"), ("email_sender_name", "string"),
                    ("custom_css", "string|null"), ("date_format", "string"),
                    ("logo_url", "string|null"), ("favicon_url", "string|null"),
                ]),
                "EmailSettings": object(&[
                    ("custom", "boolean"), ("platform_default", "boolean"),
                    ("host", "string|null"), ("port", "integer|null"), ("tls", "string|null"),
                    ("username", "string|null"), ("password_set", "boolean"),
                    ("from_name", "string|null"), ("from_address", "string|null"),
                ]),
                "PaymentSettings": object(&[("gateways", "array")]),
                "TestMail": object(&[("sent", "boolean"), ("to", "string"), ("via", "string"), ("server", "string"), ("message", "string")]),
                "TotpEnrollment": object(&[("secret", "string"), ("otpauth_url", "string")]),
                "TotpEnabled": object(&[("enabled", "boolean"), ("recovery_codes", "array")]),
                "PasswordSet": json!({"type": "object", "properties": {
                    "user": {"$ref": "#/components/schemas/User"}, "message": {"type": "string"}}}),
                "OpenApi": json!({"type": "object"}),
                "UserList": list_of("User"),
                "Reviewed": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("role_name", "string"), ("company", "string|null"),
                    ("status", "string"), ("permissions", "array"), ("two_factor", "boolean"),
                    ("flags", "array"), ("projects", "array"), ("all_projects", "boolean"),
                    ("access_expires_at", "string|null"),
                    ("last_sign_in_at", "string|null"), ("created_at", "string"),
                ]),
                "AccessReview": list_of("Reviewed"),
                "Project": object(&[
                    ("id", "string"), ("name", "string"), ("description", "string"),
                    ("company", "string|null"), ("company_name", "string|null"),
                    ("status", "string"), ("archived_at", "string|null"), ("created_at", "string"),
                    ("members", "array|null"), ("teams", "array|null"),
                ]),
                "ProjectList": list_of("Project"),
                "Task": object(&[
                    ("id", "string"), ("project", "string"), ("title", "string"),
                    ("description", "string"), ("status", "string"), ("position", "integer"),
                    ("visibility", "string"), ("assignee", "string|null"),
                    ("assignee_name", "string|null"), ("due_on", "string|null"),
                    ("created_at", "string"),
                ]),
                "TaskList": list_of("Task"),
                "File": object(&[
                    ("id", "string"), ("project", "string"), ("task", "string|null"),
                    ("name", "string"), ("visibility", "string"), ("version", "integer"),
                    ("size", "integer"), ("content_type", "string"), ("sha256", "string"),
                    ("uploaded_by", "object|null"), ("uploaded_at", "string"),
                    ("created_at", "string"), ("in_trash", "boolean"),
                    ("deleted_at", "string|null"), ("has_preview", "boolean"),
                ]),
                "FileList": list_of("File"),
                "Comment": object(&[
                    ("id", "string"), ("project", "string"), ("thread", "string"),
                    ("item", "string|null"), ("body", "string|null"), ("html", "string|null"),
                    ("author", "object|null"), ("attachments", "array"), ("visibility", "string"),
                    ("edited_at", "string|null"), ("removed", "boolean"),
                    ("removed_at", "string|null"), ("created_at", "string"),
                ]),
                "CommentList": list_of("Comment"),
                "Discussion": object(&[
                    ("id", "string"), ("project", "string"), ("subject", "string"),
                    ("body", "string"), ("html", "string"), ("visibility", "string"),
                    ("author", "object|null"), ("attachments", "array"), ("comments", "integer"),
                    ("last_activity_at", "string"), ("edited_at", "string|null"),
                    ("created_at", "string"),
                ]),
                "DiscussionList": list_of("Discussion"),
                "Person": object(&[
                    ("id", "string"), ("name", "string"), ("kind", "string"),
                    ("email", "string|null"), ("mention", "string"),
                ]),
                "PersonList": list_of("Person"),
                "Channel": object(&[
                    ("id", "string"), ("kind", "string"), ("name", "string"),
                    ("team", "string|null"), ("user", "string|null"), ("unread", "integer"),
                    ("last_message_at", "string|null"), ("created_at", "string"),
                ]),
                "ChannelList": list_of("Channel"),
                "Found": object(&[
                    ("kind", "string"), ("id", "string"), ("project", "string|null"),
                    ("title", "string"), ("snippet", "string"), ("highlighted", "string"),
                    ("link", "string"),
                ]),
                "FoundList": list_of("Found"),
                "ChatMessage": object(&[
                    ("id", "string"), ("channel", "string"), ("body", "string"),
                    ("html", "string"), ("author", "object|null"), ("created_at", "string"),
                ]),
                "ChatMessageList": list_of("ChatMessage"),
                "Event": object(&[
                    ("id", "string"), ("kind", "string"), ("project", "string|null"),
                    ("subject", "string|null"), ("visibility", "string"), ("actor", "object"),
                    ("at", "string"), ("data", "object"),
                ]),
                "EventList": list_of("Event"),
                "Notification": object(&[
                    ("id", "string"), ("kind", "string"), ("project", "string|null"),
                    ("subject", "string|null"), ("actor_name", "string"), ("sentence", "string"),
                    ("link", "string"), ("read", "boolean"), ("read_at", "string|null"),
                    ("created_at", "string"),
                ]),
                "NotificationList": list_of("Notification"),
                "Unread": object(&[("unread", "integer")]),
                "MyWork": object(&[
                    ("tasks", "object"), ("projects", "array"), ("unread", "integer"),
                    ("conversations", "array"), ("health", "object|null"),
                ]),
                "NotificationSettings": object(&[("kinds", "object")]),
                "RoleList": list_of("Role"),
                "TeamList": list_of("Team"),
                "MemberList": list_of("Member"),
                "CompanyList": list_of("Company"),
                "SessionList": list_of("Session"),
                "TokenList": list_of("Token"),
                "AuditList": list_of("AuditEntry"),
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string", "enum": ["unauthenticated", "read_only", "forbidden", "not_found", "conflict", "validation_failed", "rate_limited", "too_large", "internal"]},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    }, "required": ["code", "message"]}},
                },
            },
        },
    });
    for (name, schema) in money_schemas() {
        document["components"]["schemas"][name] = schema;
    }
    document
}

/// The schemas of invoices and payments.
fn money_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Invoice",
            object(&[
                ("id", "string"),
                ("kind", "string"),
                ("number", "string|null"),
                ("status", "string"),
                ("company", "string"),
                ("company_name", "string"),
                ("project", "string|null"),
                ("corrects", "string|null"),
                ("credited_by", "string|null"),
                ("currency", "string"),
                ("issued_on", "string"),
                ("due_on", "string"),
                ("notes", "string"),
                ("terms", "string"),
                ("seller", "object"),
                ("buyer", "object"),
                ("lines", "array"),
                ("taxes", "array"),
                ("net", "string"),
                ("tax", "string"),
                ("total", "string"),
                ("paid", "string"),
                ("balance", "string"),
                ("sent_at", "string|null"),
                ("cancelled_at", "string|null"),
                ("created_at", "string"),
                ("history", "array|null"),
            ]),
        ),
        ("InvoiceList", list_of("Invoice")),
        (
            "Payment",
            object(&[
                ("id", "string"),
                ("invoice", "string"),
                ("amount", "string"),
                ("currency", "string"),
                ("paid_on", "string"),
                ("method", "string"),
                ("reference", "string"),
                ("status", "string"),
                ("recorded_by", "string|null"),
                ("created_at", "string"),
            ]),
        ),
        ("PaymentList", list_of("Payment")),
        (
            "Recurring",
            object(&[
                ("id", "string"),
                ("company", "string"),
                ("project", "string|null"),
                ("currency", "string|null"),
                ("notes", "string|null"),
                ("terms", "string|null"),
                ("lines", "array"),
                ("frequency", "string"),
                ("next_on", "string"),
                ("ends_on", "string|null"),
                ("send", "boolean"),
                ("status", "string"),
                ("last_invoice", "string|null"),
            ]),
        ),
        ("RecurringList", object(&[("items", "array")])),
        (
            "Checkout",
            object(&[
                ("provider", "string"),
                ("url", "string"),
                ("payment", "string"),
                ("amount", "string"),
                ("currency", "string"),
                ("status", "string"),
            ]),
        ),
        (
            "WebhookReceipt",
            object(&[("received", "boolean"), ("outcome", "string")]),
        ),
        (
            "FinanceReport",
            object(&[
                ("from", "string"),
                ("to", "string"),
                ("outstanding", "array"),
                ("paid", "array"),
                ("taxes", "array"),
            ]),
        ),
        (
            "InvoicingSettings",
            object(&[
                ("legal_name", "string"),
                ("address", "string"),
                ("tax_id", "string"),
                ("bank_details", "string"),
                ("number_pattern", "string"),
                ("credit_note_pattern", "string"),
                ("next_invoice_number", "integer"),
                ("next_credit_note_number", "integer"),
                ("currency", "string"),
                ("payment_days", "integer"),
                ("terms", "string"),
                ("reminder_days", "array"),
                ("e_invoice", "boolean"),
            ]),
        ),
    ]
}

/// A JSON object schema with every field present; `a|b` types allow either.
fn object(fields: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, kind)| {
            let types: Vec<&str> = kind.split('|').collect();
            let schema = if types.len() == 1 {
                json!({"type": kind})
            } else {
                json!({"type": types})
            };
            ((*name).to_owned(), schema)
        })
        .collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// PRODUCT.md's list shape around `item`.
fn list_of(item: &str) -> Value {
    json!({"type": "object", "properties": {
        "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "next_cursor": {"type": ["string", "null"]},
    }, "required": ["items", "next_cursor"]})
}

/// Each route's success status and the schema of its answer (`None` for no content).
fn success_of(method: &Method, path: &str) -> Option<(u16, Option<&'static str>)> {
    let created = *method == Method::POST;
    Some(match (method.as_str(), path) {
        (_, "/api/v1/openapi.json") => (200, Some("OpenApi")),
        (_, "/api/v1/brand") => (200, Some("Brand")),
        ("POST", "/api/v1/session") => (200, Some("SignedIn")),
        ("GET", "/api/v1/me") => (200, Some("Me")),
        ("GET", "/api/v1/me/totp") => (200, Some("TotpStatus")),
        ("PUT", "/api/v1/me/password") => (200, Some("Message")),
        ("GET" | "PUT", "/api/v1/settings/security") => (200, Some("SecuritySettings")),
        ("GET" | "PUT" | "DELETE", "/api/v1/settings/email") => (200, Some("EmailSettings")),
        ("GET" | "PUT", "/api/v1/branding") | ("PUT" | "DELETE", "/api/v1/branding/{asset}") => {
            (200, Some("Branding"))
        }
        ("POST", "/api/v1/settings/email/test") => (200, Some("TestMail")),
        ("GET" | "PUT", "/api/v1/settings/payments") => (200, Some("PaymentSettings")),
        ("GET", "/api/v1/access-review") => (200, Some("AccessReview")),
        ("POST", "/api/v1/me/totp") => (201, Some("TotpEnrollment")),
        ("PUT", "/api/v1/me/totp") => (200, Some("TotpEnabled")),
        ("DELETE", "/api/v1/me/totp") => (204, None),
        ("GET", "/api/v1/me/sessions") => (200, Some("SessionList")),
        ("GET", "/api/v1/tokens") => (200, Some("TokenList")),
        ("POST", "/api/v1/tokens") => (201, Some("NewToken")),
        ("POST", "/api/v1/invitations/{token}/accept") => (200, Some("User")),
        ("POST", "/api/v1/password-reset" | "/api/v1/users/{id}/password-reset") => {
            (202, Some("Notice"))
        }
        ("POST", "/api/v1/password-reset/{token}") => (200, Some("PasswordSet")),
        ("GET", "/api/v1/users") => (200, Some("UserList")),
        ("POST", "/api/v1/users" | "/api/v1/clients/{id}/contacts") => (201, Some("Invited")),
        ("POST", "/api/v1/users/{id}/invitation") => (200, Some("Invited")),
        ("DELETE", "/api/v1/users/{id}/totp") => (200, Some("User")),
        ("GET" | "PATCH", "/api/v1/users/{id}")
        | ("POST", "/api/v1/users/{id}/deactivate" | "/api/v1/users/{id}/reactivate") => {
            (200, Some("User"))
        }
        ("GET", "/api/v1/roles") => (200, Some("RoleList")),
        ("POST" | "GET" | "PATCH", "/api/v1/roles" | "/api/v1/roles/{id}") => {
            (if created { 201 } else { 200 }, Some("Role"))
        }
        ("GET", "/api/v1/teams") => (200, Some("TeamList")),
        ("GET", "/api/v1/teams/{id}/members") => (200, Some("MemberList")),
        (
            "POST" | "DELETE",
            "/api/v1/teams/{id}/members" | "/api/v1/teams/{id}/members/{user_id}",
        ) => (200, Some("Team")),
        ("POST" | "GET" | "PATCH", "/api/v1/teams" | "/api/v1/teams/{id}") => {
            (if created { 201 } else { 200 }, Some("Team"))
        }
        ("GET", "/api/v1/clients") => (200, Some("CompanyList")),
        ("GET", "/api/v1/clients/{id}/contacts") => (200, Some("UserList")),
        ("POST" | "GET" | "PATCH", "/api/v1/clients" | "/api/v1/clients/{id}") => {
            (if created { 201 } else { 200 }, Some("Company"))
        }
        ("GET", "/api/v1/audit") => (200, Some("AuditList")),
        ("GET", "/api/v1/projects") => (200, Some("ProjectList")),
        ("GET", "/api/v1/projects/{id}/tasks") => (200, Some("TaskList")),
        ("POST", "/api/v1/projects/{id}/tasks") => (201, Some("Task")),
        ("GET" | "PATCH", "/api/v1/projects/{id}/tasks/{task_id}") => (200, Some("Task")),
        ("POST", "/api/v1/projects") => (201, Some("Project")),
        ("GET" | "PATCH", "/api/v1/projects/{id}")
        | (
            "POST",
            "/api/v1/projects/{id}/archive"
            | "/api/v1/projects/{id}/unarchive"
            | "/api/v1/projects/{id}/members"
            | "/api/v1/projects/{id}/teams",
        )
        | (
            "DELETE",
            "/api/v1/projects/{id}/members/{user_id}" | "/api/v1/projects/{id}/teams/{team_id}",
        ) => (200, Some("Project")),
        ("GET", "/api/v1/projects/{id}/discussions") => (200, Some("DiscussionList")),
        ("POST", "/api/v1/projects/{id}/discussions") => (201, Some("Discussion")),
        ("GET" | "PATCH", "/api/v1/projects/{id}/discussions/{discussion_id}") => {
            (200, Some("Discussion"))
        }
        (
            "GET",
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments"
            | "/api/v1/projects/{id}/tasks/{task_id}/comments"
            | "/api/v1/projects/{id}/messages",
        ) => (200, Some("CommentList")),
        (
            "POST",
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments"
            | "/api/v1/projects/{id}/tasks/{task_id}/comments"
            | "/api/v1/projects/{id}/messages",
        ) => (201, Some("Comment")),
        (
            "PATCH" | "DELETE",
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}"
            | "/api/v1/projects/{id}/comments/{comment_id}",
        ) => (200, Some("Comment")),
        (
            "GET",
            "/api/v1/projects/{id}/mentionable" | "/api/v1/chat/channels/{channel_id}/mentionable",
        ) => (200, Some("PersonList")),
        ("GET", "/api/v1/search") => (200, Some("FoundList")),
        ("GET", "/api/v1/chat/channels") => (200, Some("ChannelList")),
        ("POST", "/api/v1/chat/channels") => (201, Some("Channel")),
        ("POST", "/api/v1/chat/direct" | "/api/v1/chat/channels/{channel_id}/read") => {
            (200, Some("Channel"))
        }
        ("GET", "/api/v1/chat/channels/{channel_id}/messages") => (200, Some("ChatMessageList")),
        ("POST", "/api/v1/chat/channels/{channel_id}/messages") => (201, Some("ChatMessage")),
        ("GET", "/api/v1/projects/{id}/files") => (200, Some("FileList")),
        ("POST", "/api/v1/projects/{id}/files") => (201, Some("File")),
        ("GET" | "PATCH" | "DELETE", "/api/v1/projects/{id}/files/{file_id}")
        | ("POST", "/api/v1/projects/{id}/files/{file_id}/restore") => (200, Some("File")),
        (
            "GET",
            "/api/v1/projects/{id}/files/{file_id}/content"
            | "/api/v1/projects/{id}/files/{file_id}/preview",
        ) => (200, Some("Bytes")),
        ("GET", "/api/v1/events") => (200, Some("EventStream")),
        ("GET", "/api/v1/notifications") => (200, Some("NotificationList")),
        ("GET", "/api/v1/me/work") => (200, Some("MyWork")),
        ("POST", "/api/v1/notifications/read") => (200, Some("Unread")),
        ("GET" | "PUT", "/api/v1/me/notifications/settings") => (200, Some("NotificationSettings")),
        ("GET", "/api/v1/projects/{id}/activity") => (200, Some("EventList")),
        ("GET", "/api/v1/invoices") => (200, Some("InvoiceList")),
        ("POST", "/api/v1/invoices") => (201, Some("Invoice")),
        ("GET" | "PATCH", "/api/v1/invoices/{id}")
        | ("POST", "/api/v1/invoices/{id}/send" | "/api/v1/invoices/{id}/cancel") => {
            (200, Some("Invoice"))
        }
        ("GET", "/api/v1/invoices/{id}/payments") => (200, Some("PaymentList")),
        ("GET", "/api/v1/invoices/{id}/pdf" | "/api/v1/invoices/{id}/e-invoice") => {
            (200, Some("Bytes"))
        }
        ("POST", "/api/v1/invoices/{id}/payments") => (201, Some("Payment")),
        ("GET" | "PUT", "/api/v1/settings/invoicing") => (200, Some("InvoicingSettings")),
        ("GET", "/api/v1/reports/finance") => (200, Some("FinanceReport")),
        ("POST", "/api/v1/invoices/{id}/checkout") => (201, Some("Checkout")),
        ("POST", "/api/v1/payments/webhooks/{provider}") => (200, Some("WebhookReceipt")),
        ("GET", "/api/v1/invoices/recurring") => (200, Some("RecurringList")),
        ("POST", "/api/v1/invoices/recurring") => (201, Some("Recurring")),
        ("GET" | "PATCH", "/api/v1/invoices/recurring/{id}") => (200, Some("Recurring")),
        ("DELETE", _) => (204, None),
        _ => return None,
    })
}

pub(crate) async fn serve() -> Json<Value> {
    Json(openapi_document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_with_its_access_and_body() {
        let document = openapi_document();
        let mut operations = 0;
        for route in routes() {
            let operation = &document["paths"][route.path][route.method.as_str().to_lowercase()];
            assert!(
                operation.is_object(),
                "{} {} is missing from openapi.json",
                route.method,
                route.path
            );
            assert_eq!(operation["summary"], route.summary);
            assert!(
                success_of(&route.method, route.path).is_some(),
                "{} {} has no success answer described",
                route.method,
                route.path
            );
            let described = operation["responses"]
                .as_object()
                .map(|r| r.keys().any(|k| k.starts_with('2')))
                .unwrap_or(false);
            assert!(described, "{} {}", route.method, route.path);
            assert_eq!(operation["x-access"], route.access.describe());
            for (field, _, _) in route.body {
                let content = &operation["requestBody"]["content"];
                let media = if content["multipart/form-data"].is_object() {
                    "multipart/form-data"
                } else {
                    "application/json"
                };
                assert!(
                    content[media]["schema"]["properties"][field].is_object(),
                    "{} {} body field {field}",
                    route.method,
                    route.path
                );
            }
            operations += 1;
        }
        let documented: usize = document["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .values()
                    .filter_map(Value::as_object)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(
            documented, operations,
            "nothing documented that is not routed"
        );
    }
}
