//! Every service as a SQL table: its names (derived from the registered name), its
//! request fields (a table function's arguments) and its result schema, and how a
//! name written in a statement finds it.
//!
//! - the catalog: `fastflight`, one for every server;
//! - the schema: the registered name's namespace, everything before its last `.`
//!   (`fastflight.demo` for `fastflight.demo.SyntheticParams`), `default` for a name
//!   without one;
//! - the table: the rest in snake_case, without a trailing `_params` or `_request`
//!   (`synthetic` for `SyntheticParams`, `trades` for `Trades`, `sql_query` for
//!   `SqlQuery`).
//!
//! A name in a statement is the table alone (when one schema has it), the schema and
//! the table (`"fastflight.demo".synthetic`, or `fastflight.demo.synthetic` part by
//! part), or the catalog before them. Unquoted parts match whatever their case; quoted
//! ones exactly.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use crate::registry::{Registry, ServiceEntry};
use crate::request::FieldInfo;
use crate::{Error, Result};

/// The catalog every table is in.
pub const CATALOG: &str = "fastflight";

/// The schema of a registered name without a namespace.
pub const DEFAULT_SCHEMA: &str = "default";

/// One service as a table.
#[derive(Clone)]
pub struct Table {
    /// Its schema (the registered name's namespace).
    pub schema: String,
    /// Its name.
    pub name: String,
    /// The service's entry.
    pub entry: &'static ServiceEntry,
    /// The request's registered name.
    pub service: &'static str,
    /// The request's fields: the table function's arguments, in order.
    pub fields: &'static [FieldInfo],
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.qualified(), self.service)
    }
}

impl Table {
    /// `schema.table`, each part quoted where SQL needs it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quoted(&self.schema), quoted(&self.name))
    }

    /// Whether every request field may be left out: the service is a plain table too.
    pub fn plain(&self) -> bool {
        self.fields.iter().all(|f| !f.required)
    }

    /// The declared result schema (a typed service's row type, or `schema = fn`'s).
    pub fn result_schema(&self) -> Option<SchemaRef> {
        (self.entry.schema)()
    }

    /// The request field `name` (unquoted: whatever its case).
    pub fn field(&self, name: &str, quoted: bool) -> Option<&'static FieldInfo> {
        self.fields.iter().find(|f| same(f.name, name, quoted))
    }
}

/// An identifier as SQL writes it: bare when it is lowercase letters, digits and `_`
/// (not first a digit), else in double quotes.
pub fn quoted(identifier: &str) -> String {
    let bare = identifier
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && identifier
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        identifier.to_owned()
    } else {
        format!("\"{}\"", identifier.replace('"', "\"\""))
    }
}

fn same(name: &str, written: &str, quoted: bool) -> bool {
    if quoted {
        name == written
    } else {
        name.eq_ignore_ascii_case(written)
    }
}

/// The schema and table of a registered name.
///
/// ```
/// use fastflight::sql::catalog::table_name;
/// assert_eq!(table_name("fastflight.demo.SyntheticParams"), ("fastflight.demo".into(), "synthetic".into()));
/// assert_eq!(table_name("Trades"), ("default".into(), "trades".into()));
/// assert_eq!(table_name("demo.HTTPLogRequest"), ("demo".into(), "http_log".into()));
/// ```
pub fn table_name(registered: &str) -> (String, String) {
    let (schema, last) = match registered.rsplit_once('.') {
        Some((schema, last)) if !schema.is_empty() => (schema.to_owned(), last),
        _ => (
            DEFAULT_SCHEMA.to_owned(),
            registered.trim_start_matches('.'),
        ),
    };
    let snake = snake_case(last);
    let table = ["_params", "_request"]
        .iter()
        .find_map(|suffix| snake.strip_suffix(suffix).filter(|t| !t.is_empty()))
        .unwrap_or(&snake)
        .to_owned();
    (schema, table)
}

/// `SyntheticParams` → `synthetic_params`, `HTTPLog` → `http_log`, `already_snake`
/// unchanged.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let starts_word = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(|n| n.is_lowercase()));
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every service of a registry as a table.
#[derive(Debug, Clone)]
pub struct Catalog {
    tables: Arc<[Table]>,
}

impl Catalog {
    /// The tables of `registry`'s services; two services whose tables would have the
    /// same name (whatever its case) are an error naming both.
    pub fn new(registry: &Registry) -> Result<Self> {
        let mut tables: Vec<Table> = registry
            .entries()
            .iter()
            .map(|&entry| {
                let request = (entry.request)();
                let (schema, name) = table_name(request.name);
                Table {
                    schema,
                    name,
                    entry,
                    service: request.name,
                    fields: request.fields,
                }
            })
            .collect();
        let clashes = clashes(tables.iter().map(|t| t.service));
        if !clashes.is_empty() {
            return Err(Error::Registry(clashes));
        }
        tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        Ok(Self {
            tables: tables.into(),
        })
    }

    /// Every table, by schema then name.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The schemas, each once, in order.
    pub fn schemas(&self) -> Vec<&str> {
        let mut schemas: Vec<&str> = self.tables.iter().map(|t| t.schema.as_str()).collect();
        schemas.dedup();
        schemas
    }

    /// The table a statement names by `parts` (each with whether it was quoted); an
    /// unknown or ambiguous name is an error listing the tables `known` lets be seen.
    /// A table name alone that several schemas have is the one in `default_schema`
    /// (a session's `schema` option), where that has it.
    pub fn resolve(
        &self,
        parts: &[(String, bool)],
        default_schema: Option<&str>,
        known: impl Fn(&Table) -> bool,
    ) -> Result<&Table> {
        let written = parts
            .iter()
            .map(|(p, q)| if *q { quoted_always(p) } else { p.clone() })
            .collect::<Vec<_>>()
            .join(".");
        let written = crate::error::clip(&written);
        let Some(((table, table_quoted), qualifier)) = parts.split_last() else {
            return Err(Error::Sql("a table must be named".into()));
        };
        let mut found: Vec<&Table> = self
            .tables
            .iter()
            .filter(|t| same(&t.name, table, *table_quoted) && in_schema(t, qualifier))
            .collect();
        if let (true, Some(schema)) = (found.len() > 1, default_schema) {
            found.retain(|t| t.schema == schema);
        }
        match found.as_slice() {
            [one] => Ok(one),
            [] => {
                let names: Vec<String> = self
                    .tables
                    .iter()
                    .filter(|t| known(t))
                    .map(Table::qualified)
                    .collect();
                Err(Error::Sql(format!(
                    "no table {written}; the tables are: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )))
            }
            many => Err(Error::Sql(format!(
                "the table {written} is in several schemas: write one of {}",
                many.iter()
                    .map(|t| t.qualified())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The services among `names` (registered names) whose tables would have the same
/// name, whatever its case: one line for each pair, naming both.
///
/// ```
/// use fastflight::sql::catalog::clashes;
/// let found = clashes(["demo.Quotes", "demo.QuotesParams", "demo.Trades"]);
/// assert_eq!(found.len(), 1);
/// assert!(found[0].contains("`demo.Quotes` and `demo.QuotesParams`"), "{}", found[0]);
/// ```
pub fn clashes<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<(&str, String, String)> = Vec::new();
    let mut found = Vec::new();
    for name in names {
        let (schema, table) = table_name(name);
        match seen.iter().find(|(_, s, t)| {
            s.eq_ignore_ascii_case(&schema) && t.eq_ignore_ascii_case(&table)
        }) {
            Some((other, _, _)) => found.push(format!(
                "the services of `{other}` and `{name}` would both be the SQL table {}.{}: give one request another name (`#[flight(name = \"..\")]`)",
                quoted(&schema),
                quoted(&table)
            )),
            None => seen.push((name, schema, table)),
        }
    }
    found
}

fn quoted_always(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Whether the parts before a table's name name its schema (the catalog first or not).
fn in_schema(table: &Table, qualifier: &[(String, bool)]) -> bool {
    if qualifier.is_empty() {
        return true;
    }
    let matches = |parts: &[(String, bool)]| {
        if parts.is_empty() {
            return false;
        }
        let joined = parts
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let exact = parts.iter().any(|(_, q)| *q);
        same(&table.schema, &joined, exact)
    };
    matches(qualifier)
        || (same(CATALOG, &qualifier[0].0, qualifier[0].1) && matches(&qualifier[1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_without_a_params_suffix() {
        for (registered, schema, table) in [
            (
                "fastflight.demo.SyntheticParams",
                "fastflight.demo",
                "synthetic",
            ),
            (
                "fastflight.demo.SyntheticRows",
                "fastflight.demo",
                "synthetic_rows",
            ),
            ("fastflight.demo.SqlQuery", "fastflight.demo", "sql_query"),
            ("a.b.c.EchoParams", "a.b.c", "echo"),
            ("Params", "default", "params"),
            ("x.already_snake", "x", "already_snake"),
            ("x.IOStats2Request", "x", "io_stats2"),
            (".Lead", "default", "lead"),
        ] {
            assert_eq!(
                table_name(registered),
                (schema.to_owned(), table.to_owned()),
                "{registered}"
            );
        }
    }

    #[test]
    fn identifiers_are_quoted_where_sql_needs_it() {
        assert_eq!(quoted("synthetic"), "synthetic");
        assert_eq!(quoted("fastflight.demo"), "\"fastflight.demo\"");
        assert_eq!(quoted("Demo"), "\"Demo\"");
        assert_eq!(quoted("2x"), "\"2x\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
