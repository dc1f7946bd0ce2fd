//! The answers of Flight SQL's metadata commands, built by arrow-flight's own builders
//! (so every column is named and typed as the specification says): what the server is
//! (`GetSqlInfo`), its catalog, schemas, tables with their Arrow schemas, table types
//! and SQL types. Each answer holds only the tables the caller may call.

use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow_flight::sql::metadata::{
    GetCatalogsBuilder, SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData,
    XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTables, CommandGetXdbcTypeInfo, Nullable,
    Searchable, SqlInfo, SqlNullOrdering, SqlSupportedCaseSensitivity, SqlSupportedTransaction,
    SupportedSqlGrammar, XdbcDataType,
};

use super::catalog::{Table, CATALOG};
use crate::Result;

/// A table that can be read as it is (no request field is required).
pub const TABLE: &str = "TABLE";
/// A table that needs arguments (some request field is required): a table function.
pub const TABLE_FUNCTION: &str = "TABLE FUNCTION";

/// The words the statements accept.
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "IN", "AS", "LIMIT", "ARRAY", "TRUE", "FALSE", "NULL",
];

/// What the server says of itself (`GetSqlInfo`): read-only, no transactions, its
/// identifiers, the grammar it takes.
static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "fastflight");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    // The Arrow columnar format's version (Schema.fbs).
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
    b.append(SqlInfo::FlightSqlServerReadOnly, true);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(
        SqlInfo::FlightSqlServerTransaction,
        SqlSupportedTransaction::None as i32,
    );
    b.append(SqlInfo::FlightSqlServerCancel, true);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, false);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, false);
    b.append(SqlInfo::SqlDdlTable, false);
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlAllTablesAreSelectable, false);
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedAtEnd as i32,
    );
    b.append(SqlInfo::SqlKeywords, KEYWORDS);
    b.append(SqlInfo::SqlNumericFunctions, &[] as &[&str]);
    b.append(SqlInfo::SqlStringFunctions, &[] as &[&str]);
    b.append(SqlInfo::SqlSystemFunctions, &[] as &[&str]);
    b.append(SqlInfo::SqlDatetimeFunctions, &[] as &[&str]);
    b.append(SqlInfo::SqlSearchStringEscape, "\\");
    b.append(SqlInfo::SqlExtraNameCharacters, "");
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.append(SqlInfo::SqlSupportsTableCorrelationNames, true);
    b.append(SqlInfo::SqlSupportsDifferentTableCorrelationNames, false);
    b.append(SqlInfo::SqlSupportsExpressionsInOrderBy, false);
    b.append(SqlInfo::SqlSupportsOrderByUnrelated, false);
    b.append(SqlInfo::SqlSupportedGroupBy, 0_i32);
    b.append(SqlInfo::SqlSupportsLikeEscapeClause, false);
    b.append(SqlInfo::SqlSupportsNonNullableColumns, true);
    b.append(
        SqlInfo::SqlSupportedGrammar,
        SupportedSqlGrammar::SqlMinimumGrammar as i32,
    );
    b.append(SqlInfo::SqlAnsi92SupportedLevel, 0_i32);
    b.append(SqlInfo::SqlSupportsIntegrityEnhancementFacility, false);
    b.append(SqlInfo::SqlOuterJoinsSupportLevel, 0_i32);
    b.append(SqlInfo::SqlSchemaTerm, "schema");
    b.append(SqlInfo::SqlProcedureTerm, "procedure");
    b.append(SqlInfo::SqlCatalogTerm, "catalog");
    b.append(SqlInfo::SqlCatalogAtStart, true);
    b.append(SqlInfo::SqlSchemasSupportedActions, 0_i32);
    b.append(SqlInfo::SqlCatalogsSupportedActions, 0_i32);
    b.append(SqlInfo::SqlSupportedPositionedCommands, 0_i32);
    b.append(SqlInfo::SqlSelectForUpdateSupported, false);
    b.append(SqlInfo::SqlStoredProceduresSupported, false);
    b.append(SqlInfo::SqlSupportedSubqueries, 0_i32);
    b.append(SqlInfo::SqlCorrelatedSubqueriesSupported, false);
    b.append(SqlInfo::SqlSupportedUnions, 0_i32);
    b.append(
        SqlInfo::SqlMaxStatementLength,
        super::plan::MAX_STATEMENT_BYTES as i64,
    );
    b.append(SqlInfo::SqlMaxTablesInSelect, 1_i64);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.append(SqlInfo::SqlDataDefinitionCausesTransactionCommit, false);
    b.append(SqlInfo::SqlDataDefinitionsInTransactionsIgnored, true);
    b.append(SqlInfo::SqlBatchUpdatesSupported, false);
    b.append(SqlInfo::SqlSavepointsSupported, false);
    b.append(SqlInfo::SqlNamedParametersSupported, false);
    b.append(SqlInfo::SqlLocatorsUpdateCopy, false);
    b.append(SqlInfo::SqlStoredFunctionsUsingCallSyntaxSupported, false);
    match b.build() {
        Ok(data) => data,
        // Every value above is of its name's type: a test builds it.
        Err(e) => panic!("the server's SQL info: {e}"),
    }
});

/// The SQL types of the columns services answer.
static XDBC_TYPES: LazyLock<XdbcTypeInfoData> = LazyLock::new(|| {
    let mut b = XdbcTypeInfoDataBuilder::new();
    for (name, data_type, size, radix) in [
        ("BOOLEAN", XdbcDataType::XdbcBit, Some(1), None),
        ("TINYINT", XdbcDataType::XdbcTinyint, Some(8), Some(2)),
        ("SMALLINT", XdbcDataType::XdbcSmallint, Some(16), Some(2)),
        ("INTEGER", XdbcDataType::XdbcInteger, Some(32), Some(2)),
        ("BIGINT", XdbcDataType::XdbcBigint, Some(64), Some(2)),
        ("REAL", XdbcDataType::XdbcReal, Some(24), Some(2)),
        ("DOUBLE", XdbcDataType::XdbcDouble, Some(53), Some(2)),
        ("DECIMAL", XdbcDataType::XdbcDecimal, Some(38), Some(10)),
        ("VARCHAR", XdbcDataType::XdbcVarchar, None, None),
        ("VARBINARY", XdbcDataType::XdbcVarbinary, None, None),
        ("DATE", XdbcDataType::XdbcDate, None, None),
        ("TIME", XdbcDataType::XdbcTime, None, None),
        ("TIMESTAMP", XdbcDataType::XdbcTimestamp, None, None),
    ] {
        let text = matches!(name, "VARCHAR" | "DATE" | "TIME" | "TIMESTAMP");
        b.append(XdbcTypeInfo {
            type_name: name.into(),
            data_type,
            column_size: size,
            literal_prefix: text.then(|| "'".into()),
            literal_suffix: text.then(|| "'".into()),
            create_params: None,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: name == "VARCHAR",
            searchable: Searchable::Basic,
            unsigned_attribute: radix.map(|_| false),
            fixed_prec_scale: false,
            auto_increment: radix.map(|_| false),
            local_type_name: Some(name.into()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: None,
            num_prec_radix: radix,
            interval_precision: None,
        });
    }
    match b.build() {
        Ok(data) => data,
        Err(e) => panic!("the server's SQL types: {e}"),
    }
});

/// `GetSqlInfo`: the infos asked for (all of them when none is).
pub fn sql_info(command: CommandGetSqlInfo) -> Result<RecordBatch> {
    Ok(command.into_builder(&SQL_INFO).build()?)
}

/// `GetXdbcTypeInfo`: one SQL type, or all of them.
pub fn xdbc_type_info(command: CommandGetXdbcTypeInfo) -> Result<RecordBatch> {
    Ok(command.into_builder(&XDBC_TYPES).build()?)
}

/// `GetCatalogs`: the one catalog.
pub fn catalogs() -> Result<RecordBatch> {
    let mut b = GetCatalogsBuilder::new();
    b.append(CATALOG);
    Ok(b.build()?)
}

/// `GetDbSchemas`: the schemas of `tables` matching the command's catalog and pattern.
pub fn db_schemas(command: CommandGetDbSchemas, tables: &[&Table]) -> Result<RecordBatch> {
    let mut b = command.into_builder();
    let mut schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
    schemas.sort_unstable();
    schemas.dedup();
    for schema in schemas {
        b.append(CATALOG, schema);
    }
    Ok(b.build()?)
}

/// `GetTables`: `tables` matching the command's catalog, patterns and types, with each
/// one's Arrow schema when asked (the declared one; empty for a service that declares
/// none, whose columns are known only once it runs).
pub fn tables(command: CommandGetTables, tables: &[&Table]) -> Result<RecordBatch> {
    let mut b = command.into_builder();
    let empty = Schema::empty();
    for table in tables {
        let schema = table.result_schema();
        b.append(
            CATALOG,
            &table.schema,
            &table.name,
            table_type(table),
            schema.as_deref().unwrap_or(&empty),
        )?;
    }
    Ok(b.build()?)
}

/// `GetTableTypes`: the two kinds of table.
pub fn table_types() -> Result<RecordBatch> {
    let mut b = arrow_flight::sql::CommandGetTableTypes {}.into_builder();
    b.append(TABLE);
    b.append(TABLE_FUNCTION);
    Ok(b.build()?)
}

/// A table's type: [`TABLE`] or [`TABLE_FUNCTION`].
pub fn table_type(table: &Table) -> &'static str {
    if table.plain() {
        TABLE
    } else {
        TABLE_FUNCTION
    }
}
