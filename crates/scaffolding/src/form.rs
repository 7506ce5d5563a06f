//! A template's parameters as a form: each JSON Schema page of `spec.parameters` becomes a page of fields the server
//! renders as HTML (text, number, checkbox, select, textarea, password, the catalog pickers), and submitted values —
//! strings from an HTML form or `--set KEY=VALUE`, or JSON — are coerced, completed with their defaults and validated
//! against the pages' schemas, each error kept beside its field.
//!
//! The schemas are checked by the `jsonschema` crate (draft 7, as Backstage's forms use) built without its network
//! and file resolvers, so a `$ref` to anything outside the page is an error, never a fetch.

use std::collections::BTreeMap;
use std::fmt;

use catalog::descriptor::Problem;
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef, Kind, check_name};
use catalog::yaml::{Node, Pos, Value};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::types::JsonType;
use jsonschema::{ValidationError, Validator};
use serde::Serialize;
use serde_json::Value as Json;

use crate::Values;
use crate::read::{Reader, join, node_at, pointer_path, present};
use crate::render::RepoUrl;

/// The pages of a template's form, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Form {
    pub pages: Vec<Page>,
}

/// One JSON Schema object of `spec.parameters`: a step of the form.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub title: Option<String>,
    pub description: Option<String>,
    pub fields: Vec<Field>,
    /// The page's schema as written (`ui:` keys included; validation ignores them).
    pub schema: Json,
    /// `None` when the schema did not compile; the template has an error then.
    #[serde(skip)]
    validator: Option<Validator>,
}

/// One property of a page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The property's name: the form field's name and `parameters.<name>` in templates.
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    pub default: Option<Json>,
    /// `enum` (labelled by `enumNames` when given); for a list, the choices of its items.
    pub choices: Vec<Choice>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// `ui:help`: a hint shown under the field.
    pub help: Option<String>,
    /// `ui:placeholder`.
    pub placeholder: Option<String>,
    pub widget: Widget,
    /// `ui:field`: a catalog-aware field; the server fills its options.
    pub picker: Option<Picker>,
    /// `ui:autofocus`.
    pub autofocus: bool,
    pub pos: Pos,
}

impl Field {
    /// The title, or the name when there is none.
    pub fn label(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}

/// The value types the form collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    String,
    Number,
    Integer,
    Boolean,
    /// `type: array` with string items.
    StringList,
}

/// One allowed value and what the form shows for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub value: Json,
    pub label: String,
}

/// How a field is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    /// A one-line input (`type=text` or `type=number`).
    Text,
    Textarea,
    Password,
    Select,
    Radio,
    Checkbox,
    /// A list with choices: one checkbox per choice.
    Checkboxes,
    Hidden,
}

/// Backstage's catalog-aware field extensions (`ui:field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Picker {
    /// `OwnerPicker`: one of the catalog's entities of these kinds (`ui:options.allowedKinds`; Group and User by
    /// default), written as an entity reference.
    Owner { allowed_kinds: Vec<String> },
    /// `EntityPicker`: any catalog entity of these kinds (all kinds when empty).
    Entity { allowed_kinds: Vec<String> },
    /// `EntityNamePicker`: a valid entity name.
    EntityName,
    /// `RepoUrlPicker`: a repository location `host?owner=…&repo=…` on one of the allowed hosts.
    RepoUrl { allowed_hosts: Vec<String>, allowed_owners: Vec<String> },
}

/// Why submitted values were refused: messages per field name, and those that belong to no field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FormErrors {
    pub fields: BTreeMap<String, Vec<String>>,
    pub general: Vec<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// The messages for one field (empty when it is fine).
    pub fn field(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }

    fn add(&mut self, field: &str, message: String) {
        let messages = self.fields.entry(field.to_owned()).or_default();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }

    fn add_general(&mut self, message: String) {
        if !self.general.contains(&message) {
            self.general.push(message);
        }
    }
}

impl fmt::Display for FormErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let lines =
            self.fields.iter().flat_map(|(name, messages)| messages.iter().map(move |m| format!("{name}: {m}")));
        for line in lines.chain(self.general.iter().cloned()) {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            f.write_str(&line)?;
        }
        Ok(())
    }
}

impl std::error::Error for FormErrors {}

const CONDITIONAL_KEYWORDS: [&str; 7] = ["dependencies", "allOf", "anyOf", "oneOf", "if", "then", "else"];

impl Form {
    /// Reads `spec.parameters` (a list of pages, or one page) and reports what is wrong with `line:col` and the field
    /// path.
    pub fn read(parameters: Option<&Node>) -> (Form, Vec<Problem>) {
        let mut reader = Reader::default();
        let form = Form::read_with(parameters, &mut reader);
        (form, reader.into_problems())
    }

    pub(crate) fn read_with(parameters: Option<&Node>, reader: &mut Reader) -> Form {
        let Some(parameters) = parameters.filter(|node| !node.is_null()) else {
            return Form::default();
        };
        let pages: Vec<(String, &Node)> = match &parameters.value {
            Value::Seq(items) => {
                items.iter().enumerate().map(|(i, page)| (format!("spec.parameters[{i}]"), page)).collect()
            }
            Value::Map(_) => vec![("spec.parameters".to_owned(), parameters)],
            _ => {
                reader.error(
                    parameters.pos,
                    format!("spec.parameters must be a list of pages or one page, found {}", parameters.type_name()),
                );
                return Form::default();
            }
        };
        let mut form = Form::default();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (path, node) in pages {
            let Some(page) = read_page(node, &path, reader) else {
                continue;
            };
            for field in &page.fields {
                if let Some(other) = seen.insert(field.name.clone(), path.clone()) {
                    reader.warning(
                        field.pos,
                        format!(
                            "{path}.properties.{}: the property is also on {other}; both pages check it",
                            field.name
                        ),
                    );
                }
            }
            form.pages.push(page);
        }
        form
    }

    /// Every field of every page, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.pages.iter().flat_map(|page| page.fields.iter())
    }

    /// The field of that name, on whichever page.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().find(|field| field.name == name)
    }

    /// The team a run is for: the value of the first `OwnerPicker` field, else of a field named `owner`. Who may run
    /// a template is decided by it.
    pub fn owner<'v>(&self, values: &'v Values) -> Option<&'v str> {
        let field = self
            .fields()
            .find(|field| matches!(field.picker, Some(Picker::Owner { .. })))
            .or_else(|| self.field("owner"))?;
        values.get(&field.name).and_then(Json::as_str).map(str::trim).filter(|owner| !owner.is_empty())
    }

    /// The defaults the schemas give, by field name.
    pub fn defaults(&self) -> Values {
        let mut values = Values::new();
        for field in self.fields() {
            if let Some(default) = &field.default {
                values.entry(field.name.clone()).or_insert_with(|| default.clone());
            }
        }
        values
    }

    /// Validates what an HTML form (or `--set KEY=VALUE`) submitted: strings by field name. An empty string is no
    /// value; numbers and integers are parsed; a boolean takes the last of its values (`true`/`on`/`yes`/`1` or
    /// `false`/`off`/`no`/`0`), so a page writes a hidden `false` before each checkbox; a list takes every value
    /// given for its name, one item per line. Names that are no field are ignored. Missing values take their
    /// defaults.
    pub fn validate_form<I, K, V>(&self, submitted: I) -> Result<Values, FormErrors>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in submitted {
            raw.entry(key.as_ref().to_owned()).or_default().push(value.as_ref().to_owned());
        }
        let mut values = Values::new();
        let mut errors = FormErrors::default();
        for field in self.fields() {
            let Some(given) = raw.get(&field.name) else {
                continue;
            };
            match coerce(field, given) {
                Ok(Some(value)) => {
                    values.insert(field.name.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.add(&field.name, message),
            }
        }
        self.complete_and_check(values, errors)
    }

    /// Validates JSON values (`POST /api/v1/scaffold`): they are taken as they are typed; `null` is no value; keys that
    /// are no field are kept (a schema may allow them). Missing values take their defaults.
    pub fn validate_json(&self, submitted: &Values) -> Result<Values, FormErrors> {
        let values: Values =
            submitted.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
        self.complete_and_check(values, FormErrors::default())
    }

    fn complete_and_check(&self, mut values: Values, mut errors: FormErrors) -> Result<Values, FormErrors> {
        for field in self.fields() {
            if let Some(default) = &field.default
                && !values.contains_key(&field.name)
                && !errors.fields.contains_key(&field.name)
            {
                values.insert(field.name.clone(), default.clone());
            }
        }
        // Fields whose text could not even be read keep that one message.
        let unreadable: Vec<String> = errors.fields.keys().cloned().collect();
        let instance = Json::Object(values.clone());
        for page in &self.pages {
            let Some(validator) = &page.validator else {
                errors.add_general("the form's schema is invalid; see the template's validation".to_owned());
                continue;
            };
            for error in validator.iter_errors(&instance) {
                let (field, message) = describe(&error);
                match field {
                    Some(name) if unreadable.contains(&name) => {}
                    Some(name) if self.field(&name).is_some() => errors.add(&name, message),
                    Some(name) => errors.add_general(format!("{name}: {message}")),
                    None => errors.add_general(message),
                }
            }
        }
        for field in self.fields() {
            if let Some(picker) = &field.picker
                && let Some(value) = values.get(&field.name)
                && !unreadable.contains(&field.name)
                && let Err(message) = check_picker(picker, value)
            {
                errors.add(&field.name, message);
            }
        }
        if errors.is_empty() { Ok(values) } else { Err(errors) }
    }
}

/// One submitted field's strings as its typed value; `None` when nothing was given.
fn coerce(field: &Field, given: &[String]) -> Result<Option<Json>, String> {
    let last = given.iter().rev().find(|v| !v.trim().is_empty()).map(String::as_str);
    match field.kind {
        FieldKind::String => Ok(given.iter().rev().find(|v| !v.is_empty()).map(|v| Json::String(v.clone()))),
        FieldKind::Number => {
            let Some(text) = last.map(str::trim) else {
                return Ok(None);
            };
            if let Ok(int) = text.parse::<i64>() {
                return Ok(Some(Json::from(int)));
            }
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(|n| Some(Json::Number(n)))
                .ok_or_else(|| "Must be a number.".to_owned())
        }
        FieldKind::Integer => {
            let Some(text) = last.map(str::trim) else {
                return Ok(None);
            };
            text.parse::<i64>().map(|int| Some(Json::from(int))).map_err(|_| "Must be a whole number.".to_owned())
        }
        FieldKind::Boolean => {
            let Some(text) = given.last().map(|v| v.trim().to_ascii_lowercase()) else {
                return Ok(None);
            };
            match text.as_str() {
                "" => Ok(None),
                "true" | "on" | "yes" | "1" => Ok(Some(Json::Bool(true))),
                "false" | "off" | "no" | "0" => Ok(Some(Json::Bool(false))),
                _ => Err("Must be true or false.".to_owned()),
            }
        }
        FieldKind::StringList => {
            let items: Vec<Json> = given
                .iter()
                .flat_map(|v| v.lines())
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Json::String(item.to_owned()))
                .collect();
            Ok((!items.is_empty()).then_some(Json::Array(items)))
        }
    }
}

/// The field a schema error belongs to, and a sentence for it that does not repeat the value (it may be a password).
fn describe(error: &ValidationError<'_>) -> (Option<String>, String) {
    let pointer = error.instance_path().to_string();
    let mut segments = pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~"));
    let mut field = segments.next();
    let item = segments.next().and_then(|s| s.parse::<usize>().ok());
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            if field.is_none() {
                field = property.as_str().map(str::to_owned);
            }
            "A value is required.".to_owned()
        }
        ValidationErrorKind::Pattern { pattern } => format!("Must match the pattern `{pattern}`."),
        ValidationErrorKind::MinLength { limit } => {
            format!("Must be at least {limit} character{} long.", if *limit == 1 { "" } else { "s" })
        }
        ValidationErrorKind::MaxLength { limit } => format!("Must be at most {limit} characters long."),
        ValidationErrorKind::Minimum { limit } => format!("Must be at least {limit}."),
        ValidationErrorKind::Maximum { limit } => format!("Must be at most {limit}."),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("Must be more than {limit}."),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("Must be less than {limit}."),
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = match options.as_array() {
                Some(items) => items.iter().map(plain).collect(),
                None => vec![plain(options)],
            };
            format!("Must be one of: {}.", options.join(", "))
        }
        ValidationErrorKind::Constant { expected_value } => format!("Must be {}.", plain(expected_value)),
        ValidationErrorKind::Type { kind } => format!("Must be {}.", type_words(kind)),
        ValidationErrorKind::MinItems { limit } => format!("Give at least {limit}."),
        ValidationErrorKind::MaxItems { limit } => format!("Give at most {limit}."),
        ValidationErrorKind::UniqueItems => "Each value may be given only once.".to_owned(),
        _ => {
            let text = error.masked().to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str().trim_end_matches('.')),
                None => "Is invalid.".to_owned(),
            }
        }
    };
    let message = match item {
        Some(index) => format!("Item {}: {message}", index + 1),
        None => message,
    };
    (field, message)
}

/// A JSON value as a person reads it: strings without quotes.
fn plain(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn type_words(kind: &TypeKind) -> String {
    let word = |t: JsonType| match t {
        JsonType::String => "text",
        JsonType::Integer => "a whole number",
        JsonType::Number => "a number",
        JsonType::Boolean => "true or false",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
        JsonType::Null => "empty",
    };
    match kind {
        TypeKind::Single(t) => word(*t).to_owned(),
        TypeKind::Multiple(set) => set.iter().map(word).collect::<Vec<_>>().join(" or "),
    }
}

fn check_picker(picker: &Picker, value: &Json) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    match picker {
        Picker::EntityName => check_name(text).map_err(|reason| capitalize(&reason)),
        Picker::Owner { allowed_kinds } | Picker::Entity { allowed_kinds } => {
            let default_kind = match picker {
                Picker::Owner { .. } => Some(Kind::Group),
                _ => allowed_kinds.first().and_then(|k| Kind::parse(k)),
            };
            let entity =
                EntityRef::parse(text, default_kind, DEFAULT_NAMESPACE).map_err(|e| capitalize(&e.to_string()))?;
            if !allowed_kinds.is_empty() && !allowed_kinds.iter().any(|k| k.eq_ignore_ascii_case(entity.kind())) {
                return Err(format!("Must be one of these kinds: {}.", allowed_kinds.join(", ")));
            }
            Ok(())
        }
        Picker::RepoUrl { allowed_hosts, allowed_owners } => {
            let repo = RepoUrl::parse(text).map_err(|e| capitalize(&e))?;
            if !allowed_hosts.is_empty() && !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&repo.host)) {
                return Err(format!(
                    "The host `{}` is not allowed; choose one of: {}.",
                    repo.host,
                    allowed_hosts.join(", ")
                ));
            }
            if !allowed_owners.is_empty() && !repo.owner.as_ref().is_some_and(|o| allowed_owners.contains(o)) {
                return Err(format!("The owner must be one of: {}.", allowed_owners.join(", ")));
            }
            Ok(())
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn read_page(node: &Node, path: &str, reader: &mut Reader) -> Option<Page> {
    reader.mapping(node, path)?;
    let errors_before = reader.errors();
    let title = reader.optional_string(node, path, "title").map(str::to_owned);
    let description = reader.optional_string(node, path, "description").map(str::to_owned);
    let required: Vec<(&str, Pos)> = reader.string_list(node, path, "required");
    let conditional: Vec<&str> = CONDITIONAL_KEYWORDS.into_iter().filter(|k| present(node, k).is_some()).collect();
    for keyword in &conditional {
        let pos = present(node, keyword).map_or(node.pos, |n| n.pos);
        reader.warning(
            pos,
            format!(
                "{}: the fields a `{keyword}` rule adds are not shown in the form; submitted values are still checked \
                 against it",
                join(path, keyword)
            ),
        );
    }
    let mut fields = Vec::new();
    let mut names = Vec::new();
    if let Some(properties) = present(node, "properties") {
        let properties_path = join(path, "properties");
        if let Some(entries) = reader.mapping(properties, &properties_path).and_then(Node::as_map) {
            for (key, value) in entries {
                let name = key.key_text();
                let is_required = required.iter().any(|(r, _)| *r == name);
                if let Some(field) = read_field(&name, value, &join(&properties_path, &name), is_required, reader) {
                    fields.push(field);
                }
                names.push(name);
            }
        }
    }
    for (name, pos) in &required {
        if !names.iter().any(|n| n == name) && conditional.is_empty() {
            reader
                .error(*pos, format!("{path}.required: `{name}` is required but is not one of the page's properties"));
        }
    }
    order_fields(node, path, &mut fields, reader);
    let schema = node.to_json();
    // A page whose fields are already wrong is not compiled: the schema error would say the same thing again.
    let validator = if reader.errors() > errors_before {
        None
    } else {
        match jsonschema::draft7::options().build(&schema) {
            Ok(validator) => Some(validator),
            Err(error) => {
                schema_error(node, path, &error, reader);
                None
            }
        }
    };
    Some(Page { title, description, fields, schema, validator })
}

/// `ui:order`: the listed fields first, in that order (`*` stands for the others).
fn order_fields(node: &Node, path: &str, fields: &mut [Field], reader: &mut Reader) {
    let order = reader.string_list(node, path, "ui:order");
    if order.is_empty() {
        return;
    }
    let rest = order.iter().position(|(name, _)| *name == "*").unwrap_or(order.len());
    let rank = |name: &str| order.iter().position(|(n, _)| *n == name).unwrap_or(rest);
    fields.sort_by_key(|field| rank(&field.name));
}

/// A schema that does not compile, reported at the node it names.
fn schema_error(page: &Node, path: &str, error: &ValidationError<'_>, reader: &mut Reader) {
    let pointer = error.instance_path().to_string();
    let node = node_at(page, &pointer).unwrap_or(page);
    let field_path = match pointer_path(&pointer) {
        inner if inner.is_empty() => path.to_owned(),
        inner => format!("{path}.{inner}"),
    };
    match error.kind() {
        ValidationErrorKind::Format { format } if format == "regex" => {
            let pattern = node.as_str().unwrap_or_default();
            reader.error(node.pos, format!("{field_path}: `{pattern}` is not a valid regular expression"));
        }
        ValidationErrorKind::Referencing(reason) => {
            let node = find_foreign_ref(page).unwrap_or(page);
            reader.error(
                node.pos,
                format!(
                    "{path}: a `$ref` cannot be followed ({reason}); schemas are read from the template only, never \
                     fetched from the network or the disk"
                ),
            );
        }
        _ => reader.error(node.pos, format!("{field_path}: invalid JSON Schema: {error}")),
    }
}

/// The first `$ref` that points outside the page.
fn find_foreign_ref(node: &Node) -> Option<&Node> {
    match &node.value {
        Value::Map(entries) => entries.iter().find_map(|(key, value)| {
            if key.as_str() == Some("$ref") && value.as_str().is_some_and(|r| !r.starts_with('#')) {
                Some(value)
            } else {
                find_foreign_ref(value)
            }
        }),
        Value::Seq(items) => items.iter().find_map(find_foreign_ref),
        _ => None,
    }
}

fn read_field(name: &str, node: &Node, path: &str, required: bool, reader: &mut Reader) -> Option<Field> {
    reader.mapping(node, path)?;
    let errors_before = reader.errors();
    let enum_node = present(node, "enum");
    let kind = field_kind(node, path, enum_node, reader)?;
    let title = reader.optional_string(node, path, "title").map(str::to_owned);
    let description = reader.optional_string(node, path, "description").map(str::to_owned);
    let help = reader.optional_string(node, path, "ui:help").map(str::to_owned);
    let placeholder = reader.optional_string(node, path, "ui:placeholder").map(str::to_owned);
    let autofocus = reader.optional_bool(node, path, "ui:autofocus").unwrap_or(false);
    let default = present(node, "default").map(|d| (d.to_json(), d.pos));
    if let Some((value, pos)) = &default
        && !fits(kind, value)
    {
        reader.error(*pos, format!("{path}.default must be {}, found {value}", kind_words(kind)));
    }
    let choices = match kind {
        FieldKind::StringList => present(node, "items").map(|items| choices(items, &join(path, "items"), reader)),
        _ => enum_node.map(|_| choices(node, path, reader)),
    }
    .unwrap_or_default();
    let number = |reader: &mut Reader, field: &str| -> Option<f64> {
        let n = present(node, field)?;
        match n.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => {
                reader.error(n.pos, format!("{path}.{field} must be a number, found {}", n.type_name()));
                None
            }
        }
    };
    let count = |reader: &mut Reader, field: &str| -> Option<u64> {
        let n = present(node, field)?;
        match n.value {
            Value::Int(i) if i >= 0 => u64::try_from(i).ok(),
            _ => {
                reader.error(
                    n.pos,
                    format!("{path}.{field} must be a whole number of 0 or more, found {}", n.type_name()),
                );
                None
            }
        }
    };
    let minimum = number(reader, "minimum");
    let maximum = number(reader, "maximum");
    let min_length = count(reader, "minLength");
    let max_length = count(reader, "maxLength");
    let pattern = reader.optional_string(node, path, "pattern").map(str::to_owned);
    let picker = picker(node, path, reader);
    let widget = widget(node, path, kind, !choices.is_empty(), reader);
    if reader.errors() > errors_before {
        return None;
    }
    Some(Field {
        name: name.to_owned(),
        title,
        description,
        kind,
        required,
        default: default.map(|(value, _)| value),
        choices,
        pattern,
        min_length,
        max_length,
        minimum,
        maximum,
        help,
        placeholder,
        widget,
        picker,
        autofocus,
        pos: node.pos,
    })
}

fn field_kind(node: &Node, path: &str, enum_node: Option<&Node>, reader: &mut Reader) -> Option<FieldKind> {
    let type_node = present(node, "type");
    let type_name: Option<&str> = match type_node.map(|t| &t.value) {
        None => None,
        Some(Value::Str(name)) => Some(name),
        // `[string, "null"]`: the one type that is not null.
        Some(Value::Seq(items)) => {
            let names: Vec<&str> = items.iter().filter_map(Node::as_str).filter(|t| *t != "null").collect();
            match names.as_slice() {
                [one] => Some(*one),
                _ => {
                    let pos = type_node.map_or(node.pos, |t| t.pos);
                    reader.error(pos, format!("{path}.type: a form field has one type (besides null)"));
                    return None;
                }
            }
        }
        Some(_) => {
            let t = type_node.map_or(node, |t| t);
            reader.error(t.pos, format!("{path}.type must be a string, found {}", t.type_name()));
            return None;
        }
    };
    let pos = type_node.map_or(node.pos, |t| t.pos);
    Some(match type_name {
        Some("string") => FieldKind::String,
        Some("number") => FieldKind::Number,
        Some("integer") => FieldKind::Integer,
        Some("boolean") => FieldKind::Boolean,
        Some("array") => {
            let items = present(node, "items");
            let item_type = items.and_then(|i| present(i, "type")).and_then(Node::as_str);
            let string_enum = items
                .and_then(|i| present(i, "enum"))
                .and_then(Node::as_seq)
                .is_some_and(|v| v.iter().all(|x| x.as_str().is_some()));
            if item_type == Some("string") || (item_type.is_none() && string_enum) {
                FieldKind::StringList
            } else {
                reader.error(
                    items.map_or(pos, |i| i.pos),
                    format!(
                        "{path}.items: the form collects lists of strings only (items of type string), found {}",
                        item_type.map_or_else(|| "no item type".to_owned(), |t| format!("items of type {t}"))
                    ),
                );
                return None;
            }
        }
        Some("object") => {
            reader.error(
                pos,
                format!("{path}: nested objects are not supported by the form; give each value its own property"),
            );
            return None;
        }
        Some(other) => {
            reader.error(pos, format!("{path}.type `{other}` is not a type a form field can have"));
            return None;
        }
        None => match enum_node.and_then(Node::as_seq).and_then(|v| v.first()).map(|v| &v.value) {
            Some(Value::Int(_)) => FieldKind::Integer,
            Some(Value::Float(_)) => FieldKind::Number,
            Some(Value::Bool(_)) => FieldKind::Boolean,
            _ => {
                if enum_node.is_none() {
                    reader.warning(node.pos, format!("{path} has no type; the form reads it as a string"));
                }
                FieldKind::String
            }
        },
    })
}

/// `enum` (with `enumNames`) of a schema node.
fn choices(node: &Node, path: &str, reader: &mut Reader) -> Vec<Choice> {
    let Some(values) = present(node, "enum") else {
        return Vec::new();
    };
    let Some(items) = values.as_seq() else {
        reader.error(values.pos, format!("{path}.enum must be a list, found {}", values.type_name()));
        return Vec::new();
    };
    let names = reader.string_list(node, path, "enumNames");
    if !names.is_empty() && names.len() != items.len() {
        let pos = present(node, "enumNames").map_or(node.pos, |n| n.pos);
        reader.warning(pos, format!("{path}.enumNames has {} names for {} values", names.len(), items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let value = item.to_json();
            let label = names.get(i).map_or_else(|| plain(&value), |(name, _)| (*name).to_owned());
            Choice { value, label }
        })
        .collect()
}

fn fits(kind: FieldKind, value: &Json) -> bool {
    match kind {
        FieldKind::String => value.is_string(),
        FieldKind::Number => value.is_number(),
        FieldKind::Integer => value.is_i64() || value.is_u64(),
        FieldKind::Boolean => value.is_boolean(),
        FieldKind::StringList => value.as_array().is_some_and(|items| items.iter().all(Json::is_string)),
    }
}

fn kind_words(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::String => "a string",
        FieldKind::Number => "a number",
        FieldKind::Integer => "a whole number",
        FieldKind::Boolean => "true or false",
        FieldKind::StringList => "a list of strings",
    }
}

fn widget(node: &Node, path: &str, kind: FieldKind, has_choices: bool, reader: &mut Reader) -> Widget {
    let derived = match kind {
        FieldKind::Boolean => Widget::Checkbox,
        FieldKind::StringList if has_choices => Widget::Checkboxes,
        FieldKind::StringList => Widget::Textarea,
        _ if has_choices => Widget::Select,
        _ => Widget::Text,
    };
    let Some(name_node) = present(node, "ui:widget") else {
        return derived;
    };
    let Some(name) = reader.string(name_node, &join(path, "ui:widget")) else {
        return derived;
    };
    let chosen = match (name, kind) {
        ("textarea", FieldKind::String | FieldKind::StringList) => Some(Widget::Textarea),
        ("password", FieldKind::String) => Some(Widget::Password),
        ("select", _) if has_choices => Some(Widget::Select),
        ("radio", _) if has_choices || kind == FieldKind::Boolean => Some(Widget::Radio),
        ("checkboxes", FieldKind::StringList) if has_choices => Some(Widget::Checkboxes),
        ("checkbox", FieldKind::Boolean) => Some(Widget::Checkbox),
        ("hidden", _) => Some(Widget::Hidden),
        ("text" | "updown" | "range", FieldKind::String | FieldKind::Number | FieldKind::Integer) => Some(Widget::Text),
        _ => None,
    };
    chosen.unwrap_or_else(|| {
        reader.warning(
            name_node.pos,
            format!(
                "{path}.ui:widget `{name}` does not apply to {}; it is drawn as the default input",
                kind_words(kind)
            ),
        );
        derived
    })
}

fn picker(node: &Node, path: &str, reader: &mut Reader) -> Option<Picker> {
    let field_node = present(node, "ui:field")?;
    let name = reader.string(field_node, &join(path, "ui:field"))?;
    let options = present(node, "ui:options");
    let options_path = join(path, "ui:options");
    let list = |reader: &mut Reader, field: &str| -> Vec<String> {
        options
            .map(|o| reader.string_list(o, &options_path, field))
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s.to_owned())
            .collect()
    };
    // Newer Backstage writes `catalogFilter: {kind: …}` instead of `allowedKinds`.
    let kinds = |reader: &mut Reader| -> Vec<String> {
        let mut kinds = list(reader, "allowedKinds");
        if kinds.is_empty()
            && let Some(kind) = options.and_then(|o| present(o, "catalogFilter")).and_then(|f| present(f, "kind"))
        {
            match &kind.value {
                Value::Str(k) => kinds.push(k.clone()),
                Value::Seq(items) => kinds.extend(items.iter().filter_map(Node::as_str).map(str::to_owned)),
                _ => {}
            }
        }
        kinds
    };
    match name {
        "OwnerPicker" | "MyGroupsPicker" => {
            let mut allowed_kinds = kinds(reader);
            if allowed_kinds.is_empty() {
                allowed_kinds = vec!["Group".to_owned(), "User".to_owned()];
            }
            Some(Picker::Owner { allowed_kinds })
        }
        "EntityPicker" => Some(Picker::Entity { allowed_kinds: kinds(reader) }),
        "EntityNamePicker" => Some(Picker::EntityName),
        "RepoUrlPicker" => Some(Picker::RepoUrl {
            allowed_hosts: list(reader, "allowedHosts"),
            allowed_owners: list(reader, "allowedOwners"),
        }),
        other => {
            reader.warning(
                field_node.pos,
                format!(
                    "{path}.ui:field `{other}` is not available; the field is drawn as a plain input (Portolan has \
                     OwnerPicker, EntityPicker, EntityNamePicker and RepoUrlPicker)"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use catalog::yaml::{Limits, parse_documents};
    use serde_json::json;

    use super::*;

    fn form(yaml: &str) -> (Form, Vec<Problem>) {
        let docs = parse_documents(yaml, Limits::default()).expect("yaml");
        Form::read(docs.first())
    }

    fn clean(yaml: &str) -> Form {
        let (form, problems) = form(yaml);
        assert!(problems.is_empty(), "{problems:?}");
        form
    }

    const SERVICE: &str = r#"
- title: Service
  required: [name, owner]
  properties:
    name:
      title: Name
      type: string
      pattern: '^[a-z][a-z0-9-]*$'
      minLength: 3
      maxLength: 20
      ui:help: lower case
      ui:autofocus: true
    owner:
      type: string
      ui:field: OwnerPicker
      ui:options:
        allowedKinds: [Group]
    secret:
      type: string
      ui:widget: password
    notes:
      type: string
      ui:widget: textarea
- title: Runtime
  properties:
    replicas:
      type: integer
      minimum: 1
      maximum: 5
      default: 2
    ratio:
      type: number
      minimum: 0
      maximum: 1
    public:
      type: boolean
      default: false
    language:
      type: string
      enum: [rust, python]
      enumNames: [Rust, Python]
      default: rust
    tags:
      type: array
      items:
        type: string
    regions:
      type: array
      items:
        type: string
        enum: [eu, us]
    repoUrl:
      type: string
      ui:field: RepoUrlPicker
      ui:options:
        allowedHosts: [git.example.com]
"#;

    #[test]
    fn fields_from_pages() {
        let form = clean(SERVICE);
        assert_eq!(form.pages.len(), 2);
        assert_eq!(form.pages[0].title.as_deref(), Some("Service"));
        let name = form.field("name").expect("name");
        assert_eq!((name.kind, name.required, name.widget), (FieldKind::String, true, Widget::Text));
        assert_eq!(name.pattern.as_deref(), Some("^[a-z][a-z0-9-]*$"));
        assert_eq!((name.min_length, name.max_length), (Some(3), Some(20)));
        assert_eq!((name.help.as_deref(), name.autofocus, name.label()), (Some("lower case"), true, "Name"));
        let owner = form.field("owner").expect("owner");
        assert_eq!(owner.picker, Some(Picker::Owner { allowed_kinds: vec!["Group".into()] }));
        assert_eq!(form.field("secret").map(|f| f.widget), Some(Widget::Password));
        assert_eq!(form.field("notes").map(|f| f.widget), Some(Widget::Textarea));
        let replicas = form.field("replicas").expect("replicas");
        assert_eq!((replicas.kind, replicas.minimum, replicas.maximum), (FieldKind::Integer, Some(1.0), Some(5.0)));
        assert_eq!(form.field("public").map(|f| f.widget), Some(Widget::Checkbox));
        let language = form.field("language").expect("language");
        assert_eq!(language.widget, Widget::Select);
        assert_eq!(language.choices[1], Choice { value: json!("python"), label: "Python".into() });
        assert_eq!(form.field("tags").map(|f| (f.kind, f.widget)), Some((FieldKind::StringList, Widget::Textarea)));
        assert_eq!(form.field("regions").map(|f| (f.widget, f.choices.len())), Some((Widget::Checkboxes, 2)));
        assert_eq!(
            form.defaults(),
            json!({"replicas": 2, "public": false, "language": "rust"}).as_object().cloned().unwrap_or_default()
        );
    }

    #[test]
    fn the_owner_of_a_run_is_its_owner_picker_value() {
        let form = clean(SERVICE);
        let values = json!({"name": "checkout", "owner": " group:payments "}).as_object().cloned().unwrap_or_default();
        assert_eq!(form.owner(&values), Some("group:payments"));
        let blank = json!({"owner": ""}).as_object().cloned().unwrap_or_default();
        assert_eq!(form.owner(&blank), None);
        let no_owner =
            clean("- properties:\n    team: {type: string, ui:field: OwnerPicker}\n    owner: {type: string}\n");
        let both = json!({"team": "group:data", "owner": "group:web"}).as_object().cloned().unwrap_or_default();
        assert_eq!(no_owner.owner(&both), Some("group:data"), "the picker wins over a field named owner");
    }

    #[test]
    fn form_strings_are_coerced_and_defaults_apply() {
        let form = clean(SERVICE);
        let values = form
            .validate_form([
                ("name", "checkout"),
                ("owner", "group:payments"),
                ("ratio", "0.5"),
                ("replicas", "3"),
                ("public", "false"),
                ("public", "on"),
                ("tags", "a\r\n b \n\n"),
                ("tags", "c"),
                ("regions", "eu"),
                ("repoUrl", "git.example.com?owner=shop&repo=checkout"),
                ("csrf", "ignored"),
                ("secret", ""),
            ])
            .expect("valid");
        assert_eq!(
            Json::Object(values),
            json!({
                "name": "checkout", "owner": "group:payments", "ratio": 0.5, "replicas": 3, "public": true,
                "tags": ["a", "b", "c"], "regions": ["eu"], "repoUrl": "git.example.com?owner=shop&repo=checkout",
                "language": "rust"
            })
        );
    }

    #[test]
    fn per_field_errors() {
        let form = clean(SERVICE);
        let errors = form
            .validate_form([
                ("name", "X"),
                ("replicas", "9"),
                ("ratio", "lots"),
                ("language", "cobol"),
                ("regions", "mars"),
                ("repoUrl", "github.com?owner=shop&repo=checkout"),
                ("public", "maybe"),
            ])
            .expect_err("invalid");
        assert_eq!(errors.field("owner"), ["A value is required."]);
        let name = errors.field("name");
        assert!(name.contains(&"Must match the pattern `^[a-z][a-z0-9-]*$`.".to_owned()), "{name:?}");
        assert!(name.contains(&"Must be at least 3 characters long.".to_owned()), "{name:?}");
        assert_eq!(errors.field("replicas"), ["Must be at most 5."]);
        assert_eq!(errors.field("ratio"), ["Must be a number."]);
        assert_eq!(errors.field("language"), ["Must be one of: rust, python."]);
        assert_eq!(errors.field("regions"), ["Item 1: Must be one of: eu, us."]);
        assert_eq!(errors.field("public"), ["Must be true or false."]);
        assert_eq!(errors.field("repoUrl"), ["The host `github.com` is not allowed; choose one of: git.example.com."]);
        assert!(errors.general.is_empty(), "{errors}");
        let errors = form.validate_form([("name", "ok-name"), ("owner", "x"), ("replicas", "0")]).expect_err("min");
        assert_eq!(errors.field("replicas"), ["Must be at least 1."]);
        let errors = form.validate_form([("name", "ok-name"), ("owner", "user:bob")]).expect_err("kind");
        assert_eq!(errors.field("owner"), ["Must be one of these kinds: Group."]);
        let long = "a".repeat(21);
        let errors =
            form.validate_form([("name", long.as_str()), ("owner", "x"), ("replicas", "2.5")]).expect_err("long");
        assert_eq!(errors.field("name"), ["Must be at most 20 characters long."]);
        assert_eq!(errors.field("replicas"), ["Must be a whole number."]);
    }

    #[test]
    fn json_values_are_checked_as_typed() {
        let form = clean(SERVICE);
        let given = json!({"name": "checkout", "owner": "payments", "replicas": "3", "extra": 1, "ratio": null});
        let errors = form.validate_json(given.as_object().expect("object")).expect_err("string for integer");
        assert_eq!(errors.field("replicas"), ["Must be a whole number."]);
        let given = json!({"name": "checkout", "owner": "payments", "replicas": 3, "extra": 1});
        let values = form.validate_json(given.as_object().expect("object")).expect("valid");
        assert_eq!(values.get("extra"), Some(&json!(1)));
        assert_eq!(values.get("public"), Some(&json!(false)));
    }

    #[test]
    fn passwords_are_not_echoed() {
        let form = clean("properties:\n  pin:\n    type: string\n    ui:widget: password\n    format: ipv4\n");
        let errors = form.validate_form([("pin", "hunter2")]).expect_err("not an ipv4");
        let text = errors.to_string();
        assert!(text.starts_with("pin: "), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn bad_patterns_are_positioned_errors() {
        let (form, problems) =
            form("- title: A\n  properties:\n    name:\n      type: string\n      pattern: '^[a-z'\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "5:16: spec.parameters[0].properties.name.pattern: `^[a-z` is not a valid regular expression"
        );
        let errors = form.validate_form([("name", "x")]).expect_err("schema is broken");
        assert!(!errors.general.is_empty());
    }

    #[test]
    fn schema_problems() {
        let (_, problems) = form(
            "required: [name, ghost]\nproperties:\n  name: {type: string, minLength: -1}\n  nested: {type: object}\n  \
             list: {type: array, items: {type: integer}}\n  flag: {type: boolean, default: 'yes'}\n  \
             who: {type: string, ui:field: FancyPicker}\n",
        );
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let expect = [
            "1:18: spec.parameters.required: `ghost` is required but is not one of the page's properties",
            "3:35: spec.parameters.properties.name.minLength must be a whole number of 0 or more",
            "4:18: spec.parameters.properties.nested: nested objects are not supported",
            "5:30: spec.parameters.properties.list.items: the form collects lists of strings only",
            "6:34: spec.parameters.properties.flag.default must be true or false",
            "7:33: warning: spec.parameters.properties.who.ui:field `FancyPicker` is not available",
        ];
        for expected in expect {
            assert!(messages.iter().any(|m| m.starts_with(expected)), "missing {expected} in {messages:#?}");
        }
        assert_eq!(messages.len(), expect.len(), "{messages:#?}");
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        for target in ["https://example.com/schema.json", "file:///etc/passwd"] {
            let (form, problems) = form(&format!("properties:\n  name:\n    type: string\n    $ref: '{target}'\n"));
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].to_string().starts_with("4:11: spec.parameters: a `$ref` cannot be followed"),
                "{problems:?}"
            );
            assert!(form.validate_form([("name", "x")]).is_err());
        }
    }

    #[test]
    fn conditional_pages_warn() {
        let (form, problems) = form(
            "properties:\n  kind: {type: string, enum: [a, b]}\ndependencies:\n  kind:\n    oneOf:\n      - properties: {kind: {const: a}}\n",
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].to_string().starts_with("4:3: warning: spec.parameters.dependencies"), "{problems:?}");
        assert_eq!(form.fields().count(), 1);
    }

    #[test]
    fn entity_name_picker_checks_names() {
        let form = clean("properties:\n  name: {type: string, ui:field: EntityNamePicker}\nui:order: [name]\n");
        let errors = form.validate_form([("name", "Not a name")]).expect_err("spaces");
        assert!(errors.field("name")[0].starts_with("`Not a name` must be"), "{errors}");
        assert!(form.validate_form([("name", "checkout-api")]).is_ok());
    }
}
