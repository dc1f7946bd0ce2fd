//! A statement into a [`Plan`]: which service, its typed request, which columns, how
//! many rows. No query engine: a `WHERE` conjunct on a request field becomes that
//! field, a table function's arguments become fields, `LIMIT` ends the stream, and
//! anything else is refused naming the construct and what is accepted.
//!
//! Accepted: `SELECT * | column [AS alias], .. FROM table [AS alias] | table(arg, name
//! => arg, ..) [WHERE field = value AND list_field IN (value, ..) AND ..] [LIMIT n]`,
//! values being literals (strings, numbers, `TRUE`/`FALSE`, `NULL`, `ARRAY[..]`) or
//! parameters (`?`, `$1`) bound later.

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use bytes::Bytes;
use serde_json::{Map, Number, Value};
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, GroupByExpr, InTarget, LimitClause,
    ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::catalog::{Catalog, Table};
use crate::error::clip;
use crate::{Error, Result};

/// What a statement asks for: the service's request, the columns, the rows.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The service's table.
    pub table: Table,
    /// The request's fields (without `param_type`), each from an argument or a `WHERE`
    /// conjunct; those of `parameters` are filled by [`Plan::bind`].
    pub request: Map<String, Value>,
    /// The columns asked for, in order (`None`: every column).
    pub columns: Option<Vec<Column>>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// The parameters (`?`, `$1`) and the fields they stand for.
    pub parameters: Vec<Parameter>,
}

/// A column of the result, as the statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column as written (matched to the result's own name when it is known).
    pub name: String,
    /// Whether it was quoted (then matched exactly).
    pub quoted: bool,
    /// Its name in the answer (`AS alias`).
    pub alias: Option<String>,
}

/// A parameter of a statement: the request field it fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its place among the values bound (`?` in order of appearance, `$n` as `n - 1`).
    pub index: usize,
    /// The request field.
    pub field: String,
}

/// The longest statement parsed: well above any a person writes, and checked before
/// the parser sees it (a statement arrives bounded by `max_request_bytes` too).
pub const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// The plan of `sql` over `catalog`; `known` says which tables the caller may be
/// shown when a name is unknown.
///
/// ```
/// # use fastflight::sql::{catalog::Catalog, plan::plan};
/// # let catalog = Catalog::new(&fastflight::Registry::from_entries([])?)?;
/// let e = plan("SELECT * FROM nowhere", &catalog, |_| true).unwrap_err();
/// assert!(e.to_string().contains("no table nowhere"), "{e}");
/// # Ok::<(), fastflight::Error>(())
/// ```
pub fn plan(sql: &str, catalog: &Catalog, known: impl Fn(&Table) -> bool) -> Result<Plan> {
    plan_in(sql, catalog, None, known)
}

/// [`plan`] with a default schema: a table name alone that several schemas have is the
/// one in `schema` (a session's `schema` option).
pub fn plan_in(
    sql: &str,
    catalog: &Catalog,
    schema: Option<&str>,
    known: impl Fn(&Table) -> bool,
) -> Result<Plan> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(Error::Sql(format!(
            "the statement is {} bytes, above the limit of {MAX_STATEMENT_BYTES}",
            sql.len()
        )));
    }
    let mut statements = Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| Error::Sql(format!("the statement does not parse: {e}")))?;
    let statement = match statements.len() {
        1 => statements.remove(0),
        0 => return Err(Error::Sql("no statement".into())),
        n => return Err(Error::Sql(format!("{n} statements: send one at a time"))),
    };
    let Statement::Query(query) = statement else {
        let kind = statement.to_string();
        let kind = kind.split_whitespace().next().unwrap_or_default();
        return Err(Error::Sql(format!(
            "only SELECT is answered, this server is read-only (got {kind})"
        )));
    };
    Planner {
        schema: schema.map(str::to_owned),
        ..Planner::default()
    }
    .query(*query, catalog, known)
}

/// What a planner gathers while it reads one statement.
#[derive(Default)]
struct Planner {
    /// The default schema of table names alone.
    schema: Option<String>,
    /// The parameters seen, and how many `?` there were.
    parameters: Vec<Parameter>,
    anonymous: usize,
}

/// The refusal of a construct: what it is, and what is accepted.
fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Sql(format!(
        "{what} is not supported: a statement is `SELECT * | columns FROM table [WHERE request_field = value AND ..] [LIMIT n]`"
    ))
}

impl Planner {
    fn query(
        mut self,
        query: Query,
        catalog: &Catalog,
        known: impl Fn(&Table) -> bool,
    ) -> Result<Plan> {
        let Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        if with.is_some() {
            return Err(unsupported("WITH"));
        }
        if order_by.is_some() {
            return Err(unsupported("ORDER BY"));
        }
        if fetch.is_some() {
            return Err(unsupported("FETCH"));
        }
        if !locks.is_empty() || for_clause.is_some() {
            return Err(unsupported("FOR (locking)"));
        }
        if settings.is_some() || format_clause.is_some() || !pipe_operators.is_empty() {
            return Err(unsupported("SETTINGS, FORMAT and pipe operators"));
        }
        let limit = limit_clause.map(limit).transpose()?;
        let select = match *body {
            SetExpr::Select(select) => *select,
            SetExpr::Query(_) => return Err(unsupported("a parenthesised query")),
            SetExpr::SetOperation { op, .. } => return Err(unsupported(op.to_string())),
            SetExpr::Values(_) => return Err(unsupported("VALUES")),
            other => {
                let text = other.to_string();
                return Err(unsupported(format!(
                    "`{}`",
                    text.split_whitespace().next().unwrap_or_default()
                )));
            }
        };
        self.select(select, limit, catalog, known)
    }

    fn select(
        &mut self,
        select: Select,
        limit: Option<u64>,
        catalog: &Catalog,
        known: impl Fn(&Table) -> bool,
    ) -> Result<Plan> {
        refuse_clauses(&select)?;
        let Select {
            projection,
            mut from,
            selection,
            ..
        } = select;
        if from.len() != 1 {
            return Err(if from.is_empty() {
                Error::Sql("a statement reads one table: FROM is missing".into())
            } else {
                unsupported("reading several tables (a comma in FROM)")
            });
        }
        let from = from.remove(0);
        if !from.joins.is_empty() {
            return Err(unsupported("JOIN"));
        }
        let TableFactor::Table {
            name,
            alias,
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_directives,
            inheritance,
        } = from.relation
        else {
            return Err(unsupported("FROM anything but a table or table function"));
        };
        if !with_hints.is_empty()
            || version.is_some()
            || with_ordinality
            || !partitions.is_empty()
            || json_path.is_some()
            || sample.is_some()
            || !index_directives.is_empty()
            || inheritance.is_some()
        {
            return Err(unsupported("a table modifier (hints, versions, samples)"));
        }
        let parts = name
            .0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => {
                    Ok((ident.value.clone(), ident.quote_style.is_some()))
                }
                ObjectNamePart::Function(_) => Err(unsupported("a computed table name")),
            })
            .collect::<Result<Vec<_>>>()?;
        let table = catalog
            .resolve(&parts, self.schema.as_deref(), known)?
            .clone();
        let alias = alias.map(|a| a.name);
        // The names a column may be qualified with: the table's, or its alias.
        let qualifiers: Vec<(String, bool)> = match &alias {
            Some(a) => vec![(a.value.clone(), a.quote_style.is_some())],
            None => vec![(table.name.clone(), false)],
        };
        let mut request = Map::new();
        if let Some(args) = args {
            if args.settings.is_some() {
                return Err(unsupported("SETTINGS in a table function"));
            }
            let mut position = 0;
            for arg in args.args {
                let (field, value) = match arg {
                    FunctionArg::Named { name, arg, .. } => {
                        let field = request_field(&table, &name.value, name.quote_style.is_some())?;
                        (field, arg)
                    }
                    FunctionArg::ExprNamed { name, arg, .. } => match name {
                        Expr::Identifier(name) => {
                            let field =
                                request_field(&table, &name.value, name.quote_style.is_some())?;
                            (field, arg)
                        }
                        other => return Err(unsupported(format!("the argument name `{other}`"))),
                    },
                    FunctionArg::Unnamed(arg) => {
                        let Some(field) = table.fields.get(position) else {
                            return Err(Error::Sql(format!(
                                "{} takes {} arguments ({}), not {}",
                                table.name,
                                table.fields.len(),
                                field_list(&table),
                                position + 1
                            )));
                        };
                        position += 1;
                        (field.name.to_owned(), arg)
                    }
                };
                let FunctionArgExpr::Expr(expr) = value else {
                    return Err(unsupported(format!("`*` as the argument `{field}`")));
                };
                let value = self.value(expr, &field)?;
                set(&mut request, &table, field, value)?;
            }
        }
        if let Some(selection) = selection {
            let mut conjuncts = Vec::new();
            split_and(selection, &mut conjuncts);
            for conjunct in conjuncts {
                self.conjunct(conjunct, &table, &qualifiers, &mut request)?;
            }
        }
        let missing: Vec<&str> = table
            .fields
            .iter()
            .filter(|f| f.required && !request.contains_key(f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            return Err(Error::Sql(format!(
                "{} needs its request field{} {}: give {} as arguments (`{}({})`) or in WHERE (`WHERE {} = ..`)",
                table.name,
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
                table.name,
                missing.iter().map(|m| format!("{m} => ..")).collect::<Vec<_>>().join(", "),
                missing[0],
            )));
        }
        let columns = columns(projection, &table, &qualifiers)?;
        Ok(Plan {
            table,
            request,
            columns,
            limit,
            parameters: std::mem::take(&mut self.parameters),
        })
    }

    /// One `WHERE` conjunct: `field = value`, `value = field`, `list_field IN (..)`.
    fn conjunct(
        &mut self,
        conjunct: Expr,
        table: &Table,
        qualifiers: &[(String, bool)],
        request: &mut Map<String, Value>,
    ) -> Result<()> {
        let refused = |conjunct: &Expr, why: &str| {
            let conjunct = clip(&conjunct.to_string());
            Error::Sql(format!(
                "the condition `{conjunct}` {why}: only `request_field = value` (and `list_field IN (..)`) conditions joined by AND are answered, and they become the request's fields ({})",
                field_list(table)
            ))
        };
        match conjunct {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let (column, value) =
                    match (column_of(&left, qualifiers), column_of(&right, qualifiers)) {
                        (Some(column), None) => (column, *right),
                        (None, Some(column)) => (column, *left),
                        _ => {
                            let whole = Expr::BinaryOp {
                                left,
                                op: BinaryOperator::Eq,
                                right,
                            };
                            return Err(refused(&whole, "compares no column with a value"));
                        }
                    };
                let field = filtered_field(table, &column)?;
                let value = self.value(value, &field)?;
                set(request, table, field, value)
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated: false,
                global: false,
            } => {
                let Some(column) = column_of(&expr, qualifiers) else {
                    let whole = Expr::In {
                        expr,
                        target: InTarget::List(list),
                        negated: false,
                        global: false,
                    };
                    return Err(refused(&whole, "tests no column"));
                };
                let field = filtered_field(table, &column)?;
                let list_field = table.field(&field, true).is_some_and(|f| is_list(f.ty));
                if !list_field {
                    return Err(Error::Sql(format!(
                        "`{field} IN (..)`: `{field}` is not a list; write `{field} = value`"
                    )));
                }
                let values = list
                    .into_iter()
                    .map(|item| self.value(item, &field))
                    .collect::<Result<Vec<_>>>()?;
                set(request, table, field, Value::Array(values))
            }
            Expr::BinaryOp {
                op: BinaryOperator::Or,
                ..
            } => Err(refused(&conjunct, "uses OR")),
            Expr::BinaryOp {
                ref left,
                ref op,
                ref right,
            } => {
                // A column that is no request field says so first.
                for side in [left, right] {
                    if let Some(column) = column_of(side, qualifiers) {
                        filtered_field(table, &column)?;
                    }
                }
                let why = format!("compares with `{op}`");
                Err(refused(&conjunct, &why))
            }
            other => Err(refused(&other, "is of another kind")),
        }
    }

    /// A literal or a parameter as the JSON value of `field`.
    fn value(&mut self, expr: Expr, field: &str) -> Result<Value> {
        let bad = |expr: &Expr| {
            let expr = clip(&expr.to_string());
            Error::Sql(format!(
                "the value of `{field}`: `{expr}` is not a literal (a string, number, TRUE, FALSE, NULL, ARRAY[..]) or a parameter (`?`, `$1`)"
            ))
        };
        match expr {
            Expr::Nested(inner) => self.value(*inner, field),
            Expr::Value(value) => match value.value {
                ast::Value::Number(n, _) => number(&n, false, field),
                ast::Value::SingleQuotedString(s)
                | ast::Value::EscapedStringLiteral(s)
                | ast::Value::NationalStringLiteral(s) => Ok(Value::String(s)),
                ast::Value::Boolean(b) => Ok(Value::Bool(b)),
                ast::Value::Null => Ok(Value::Null),
                ast::Value::Placeholder(p) => {
                    let index = if p == "?" {
                        self.anonymous += 1;
                        self.anonymous - 1
                    } else {
                        match p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                            Some(n) if (1..=1024).contains(&n) => n - 1,
                            _ => {
                                return Err(Error::Sql(format!(
                                    "the parameter `{p}` of `{field}`: parameters are `?` or `$1` to `$1024`"
                                )))
                            }
                        }
                    };
                    self.parameters.push(Parameter {
                        index,
                        field: field.to_owned(),
                    });
                    Ok(Value::Null)
                }
                other => Err(bad(&Expr::Value(other.into()))),
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match *expr {
                Expr::Value(ast::ValueWithSpan {
                    value: ast::Value::Number(n, _),
                    ..
                }) => number(&n, true, field),
                other => Err(bad(&other)),
            },
            Expr::Array(array) => array
                .elem
                .into_iter()
                .map(|e| self.value(e, field))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            other => Err(bad(&other)),
        }
    }
}

/// The clauses of a `SELECT` no plan takes: refused by name.
fn refuse_clauses(select: &Select) -> Result<()> {
    let group_by = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) => !exprs.is_empty() || !modifiers.is_empty(),
        GroupByExpr::All(_) => true,
    };
    let refused = [
        (select.distinct.is_some(), "DISTINCT"),
        (select.top.is_some(), "TOP"),
        (select.into.is_some(), "SELECT INTO"),
        (
            select.exclude.is_some() || select.select_modifiers.is_some(),
            "a SELECT modifier",
        ),
        (!select.lateral_views.is_empty(), "LATERAL VIEW"),
        (select.prewhere.is_some(), "PREWHERE"),
        (!select.connect_by.is_empty(), "CONNECT BY"),
        (group_by, "GROUP BY"),
        (select.having.is_some(), "HAVING"),
        (
            !select.cluster_by.is_empty()
                || !select.distribute_by.is_empty()
                || !select.sort_by.is_empty(),
            "CLUSTER, DISTRIBUTE and SORT BY",
        ),
        (
            !select.named_window.is_empty() || select.qualify.is_some(),
            "WINDOW and QUALIFY",
        ),
        (select.value_table_mode.is_some(), "SELECT AS VALUE"),
        (!select.optimizer_hints.is_empty(), "optimizer hints"),
    ];
    match refused.iter().find(|(present, _)| *present) {
        Some((_, what)) => Err(unsupported(what)),
        None => Ok(()),
    }
}

/// `LIMIT n`: a whole number; OFFSET refused.
fn limit(clause: LimitClause) -> Result<u64> {
    match clause {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } => {
            if offset.is_some() {
                return Err(unsupported("OFFSET"));
            }
            if !limit_by.is_empty() {
                return Err(unsupported("LIMIT BY"));
            }
            match limit {
                Some(Expr::Value(ast::ValueWithSpan {
                    value: ast::Value::Number(n, _),
                    ..
                })) => n.parse::<u64>().map_err(|_| {
                    Error::Sql(format!(
                        "LIMIT {n}: a limit is a whole number of rows, 0 or more"
                    ))
                }),
                Some(other) => Err(Error::Sql(format!(
                    "LIMIT {other}: a limit is a whole number of rows, 0 or more"
                ))),
                None => Err(unsupported("LIMIT without a number")),
            }
        }
        LimitClause::OffsetCommaLimit { .. } => Err(unsupported("LIMIT offset, count")),
    }
}

/// A JSON number of a SQL number (negated when `negative`).
fn number(text: &str, negative: bool, field: &str) -> Result<Value> {
    let text = if negative {
        format!("-{text}")
    } else {
        text.to_owned()
    };
    serde_json::from_str::<Number>(&text)
        .map(Value::Number)
        .map_err(|_| {
            Error::Sql(format!(
                "the value of `{field}`: `{text}` is not a number JSON can hold"
            ))
        })
}

/// `a AND b AND c` as its conjuncts.
fn split_and(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        Expr::Nested(inner) => split_and(*inner, out),
        other => out.push(other),
    }
}

/// The column an expression names (bare, or qualified by the table or its alias).
fn column_of(expr: &Expr, qualifiers: &[(String, bool)]) -> Option<(String, bool)> {
    match expr {
        Expr::Identifier(ident) => Some((ident.value.clone(), ident.quote_style.is_some())),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, column]
                if qualifiers.iter().any(|(q, quoted)| {
                    if *quoted || qualifier.quote_style.is_some() {
                        *q == qualifier.value
                    } else {
                        q.eq_ignore_ascii_case(&qualifier.value)
                    }
                }) =>
            {
                Some((column.value.clone(), column.quote_style.is_some()))
            }
            _ => None,
        },
        Expr::Nested(inner) => column_of(inner, qualifiers),
        _ => None,
    }
}

/// The request field a filter names: a result column that is no request field, or a
/// name that is neither, is refused naming what can be filtered.
fn filtered_field(table: &Table, (name, quoted): &(String, bool)) -> Result<String> {
    if let Some(field) = table.field(name, *quoted) {
        return Ok(field.name.to_owned());
    }
    let is_column = table.result_schema().is_some_and(|s| {
        s.fields()
            .iter()
            .any(|f| f.name().eq_ignore_ascii_case(name))
    });
    let name = clip(name);
    Err(Error::Sql(if is_column {
        format!(
            "a filter on `{name}`, a column of the result, is not answered: only the request fields of {} can be filtered ({})",
            table.name,
            field_list(table)
        )
    } else {
        format!(
            "{} has no request field `{name}`; its fields: {}",
            table.name,
            field_list(table)
        )
    }))
}

fn request_field(table: &Table, name: &str, quoted: bool) -> Result<String> {
    table
        .field(name, quoted)
        .map(|f| f.name.to_owned())
        .ok_or_else(|| {
            let name = clip(name);
            Error::Sql(format!(
                "{} has no argument `{name}`; its arguments: {}",
                table.name,
                field_list(table)
            ))
        })
}

/// A field set once: a second, different value is an error naming both.
fn set(request: &mut Map<String, Value>, table: &Table, field: String, value: Value) -> Result<()> {
    match request.get(&field) {
        Some(before) if *before != value => Err(Error::Sql(format!(
            "the request field `{field}` of {} is given twice: {before} and {value}",
            table.name
        ))),
        _ => {
            request.insert(field, value);
            Ok(())
        }
    }
}

fn field_list(table: &Table) -> String {
    if table.fields.is_empty() {
        return "none".to_owned();
    }
    table
        .fields
        .iter()
        .map(|f| {
            if f.required {
                format!("{} {}", f.name, f.ty)
            } else {
                format!("{} {} (optional)", f.name, f.ty)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A field's Rust type, as written, without its spaces and an outer `Option<..>`.
pub(crate) fn without_option(ty: &str) -> String {
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    match ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        Some(inner) => inner.to_owned(),
        None => ty,
    }
}

/// Whether a field's Rust type, as written, is a list.
fn is_list(ty: &str) -> bool {
    let ty = without_option(ty);
    ["Vec<", "std::vec::Vec<", "HashSet<", "BTreeSet<", "["]
        .iter()
        .any(|p| ty.starts_with(p))
}

/// The columns of the projection (`None`: every one), checked against the declared
/// result schema where there is one.
fn columns(
    projection: Vec<SelectItem>,
    table: &Table,
    qualifiers: &[(String, bool)],
) -> Result<Option<Vec<Column>>> {
    let declared = table.result_schema();
    let mut columns = Vec::new();
    for item in projection {
        let (expr, alias) = match item {
            SelectItem::Wildcard(options) => {
                if options.opt_exclude.is_some()
                    || options.opt_except.is_some()
                    || options.opt_replace.is_some()
                    || options.opt_rename.is_some()
                    || options.opt_ilike.is_some()
                {
                    return Err(unsupported("a modifier of `*`"));
                }
                return if columns.is_empty() {
                    Ok(None)
                } else {
                    Err(unsupported("`*` beside other columns"))
                };
            }
            SelectItem::QualifiedWildcard(..) => return Err(unsupported("`table.*`")),
            SelectItem::UnnamedExpr(expr) => (expr, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value)),
            SelectItem::ExprWithAliases { .. } => return Err(unsupported("several aliases")),
        };
        let Some((name, quoted)) = column_of(&expr, qualifiers) else {
            return Err(unsupported(format!(
                "the expression `{}` in SELECT (only columns are answered)",
                clip(&expr.to_string())
            )));
        };
        let name = match &declared {
            Some(schema) => result_column(schema, &name, quoted, table)?,
            None => name,
        };
        columns.push(Column {
            name,
            quoted,
            alias,
        });
    }
    Ok(Some(columns))
}

/// The result's own name of column `name`; an unknown one lists the columns.
fn result_column(schema: &Schema, name: &str, quoted: bool, table: &Table) -> Result<String> {
    let found = schema.fields().iter().find(|f| {
        if quoted {
            f.name() == name
        } else {
            f.name().eq_ignore_ascii_case(name)
        }
    });
    match found {
        Some(f) => Ok(f.name().clone()),
        None => Err(no_column(&table.name, name, schema)),
    }
}

/// The refusal of a column `name` the result of `table` lacks, listing its columns.
fn no_column(table: &str, name: &str, schema: &Schema) -> Error {
    let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    Error::Sql(format!(
        "the result of {table} has no column `{}`; its columns: {}",
        clip(name),
        columns.join(", ")
    ))
}

impl Plan {
    /// The request as a JSON ticket: what `dispatch` decodes, validates and serves,
    /// as for any other caller.
    pub fn ticket(&self) -> Bytes {
        let mut object = Map::with_capacity(self.request.len() + 1);
        object.insert(
            crate::wire::PARAM_TYPE.to_owned(),
            Value::String(self.table.service.to_owned()),
        );
        object.extend(self.request.iter().map(|(k, v)| (k.clone(), v.clone())));
        Bytes::from(Value::Object(object).to_string())
    }

    /// The statement's parameters filled with `values` (in order: `?` by appearance,
    /// `$n` the n-th); a count that differs is an error saying both.
    pub fn bind(&mut self, values: &[Value]) -> Result<()> {
        let wanted = self
            .parameters
            .iter()
            .map(|p| p.index + 1)
            .max()
            .unwrap_or(0);
        if values.len() != wanted {
            return Err(Error::Sql(format!(
                "the statement has {wanted} parameter{}, {} were bound",
                if wanted == 1 { "" } else { "s" },
                values.len()
            )));
        }
        for p in &self.parameters {
            self.request
                .insert(p.field.clone(), values[p.index].clone());
        }
        Ok(())
    }

    /// The answer's schema: the columns asked for of `result` (the service's), renamed
    /// by their aliases; a column the result lacks is an error listing its columns.
    pub fn output_schema(&self, result: &Schema) -> Result<SchemaRef> {
        let Some(columns) = &self.columns else {
            return Ok(std::sync::Arc::new(result.clone()));
        };
        let fields = self
            .indices(result)?
            .into_iter()
            .zip(columns)
            .map(|(i, c)| {
                let field: &Field = result.field(i);
                match &c.alias {
                    Some(alias) => field.clone().with_name(alias.clone()),
                    None => field.clone(),
                }
            })
            .collect::<Vec<_>>();
        Ok(std::sync::Arc::new(Schema::new_with_metadata(
            fields,
            result.metadata().clone(),
        )))
    }

    /// `batch` cut to the columns asked for, under the names of `schema`
    /// ([`Plan::output_schema`] of the batch's schema).
    pub fn project(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        if self.columns.is_none() {
            return Ok(batch.clone());
        }
        let columns = self
            .indices(batch.schema_ref())?
            .into_iter()
            .map(|i| batch.column(i).clone())
            .collect();
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }

    fn indices(&self, result: &Schema) -> Result<Vec<usize>> {
        let Some(columns) = &self.columns else {
            return Ok((0..result.fields().len()).collect());
        };
        columns
            .iter()
            .map(|c| {
                result
                    .fields()
                    .iter()
                    .position(|f| {
                        if c.quoted {
                            *f.name() == c.name
                        } else {
                            f.name().eq_ignore_ascii_case(&c.name)
                        }
                    })
                    .ok_or_else(|| no_column(&self.table.name, &c.name, result))
            })
            .collect()
    }
}
