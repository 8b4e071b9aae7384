//! Guest checkout (issue 19): an order may belong to no account (a guest's, reached by a secret
//! token whose SHA-256 is kept here) until the owner of its e-mail address registers and
//! verifies it. `orders.user_id` and `promo_redemptions.user_id` become nullable; the e-mail index finds a guest's orders when
//! they are attached and counts a guest's unpaid ones.
use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    AccessTokenHash,
}

const GUEST_EMAIL_INDEX: &str = "idx_orders_guest_email";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Without a transaction on SQLite: a run stopped half-way can be run again.
        if !m.has_column("orders", "access_token_hash").await? {
            m.alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(string_len_null(Orders::AccessTokenHash, 64))
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        // A guest's order, and the promo use it took, belong to no account.
        for table in ["orders", "promo_redemptions"] {
            match db.get_database_backend() {
                DbBackend::Sqlite => drop_not_null_sqlite(db, table, "user_id").await?,
                _ => {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ALTER COLUMN user_id DROP NOT NULL"
                    ))
                    .await?;
                }
            }
        }
        db.execute_unprepared(&format!(
            "CREATE INDEX IF NOT EXISTS {GUEST_EMAIL_INDEX} ON orders (email) WHERE user_id IS NULL"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {GUEST_EMAIL_INDEX}"))
            .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .drop_column(Orders::AccessTokenHash)
                .to_owned(),
        )
        .await
    }
}

/// SQLite cannot drop a NOT NULL constraint in place: the table is made again from its own
/// definition with the column nullable, as SQLite's documentation prescribes (foreign keys off,
/// one transaction, copy, drop, rename, indexes again, a foreign-key check before commit).
/// All of it is one script so that it runs on one connection of the pool.
async fn drop_not_null_sqlite(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    let definition = |kind: &str| {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL",
            [kind.into(), table.into()],
        )
    };
    let create: String = db
        .query_one_raw(definition("table"))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("no table {table}")))?
        .try_get("", "sql")?;
    let indexes: Vec<String> = db
        .query_all_raw(definition("index"))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "sql"))
        .collect::<Result<_, _>>()?;
    let strict = format!("\"{column}\" integer NOT NULL");
    if create.contains(&format!("\"{column}\" integer NULL")) {
        // Done by an earlier run that stopped after it.
        return Ok(());
    }
    if !create.contains(&strict) {
        return Err(DbErr::Migration(format!(
            "{table}.{column} is not `{strict}`: {create}"
        )));
    }
    let rebuilt = format!("{table}_rebuilt");
    let create = create
        .replacen(&strict, &format!("\"{column}\" integer NULL"), 1)
        .replacen(
            &format!("CREATE TABLE \"{table}\""),
            &format!("CREATE TABLE \"{rebuilt}\""),
            1,
        );
    let mut script = vec![
        "PRAGMA foreign_keys = OFF".to_string(),
        "BEGIN IMMEDIATE".to_string(),
        format!("DROP TABLE IF EXISTS \"{rebuilt}\""),
        create,
        format!("INSERT INTO \"{rebuilt}\" SELECT * FROM \"{table}\""),
        format!("DROP TABLE \"{table}\""),
        format!("ALTER TABLE \"{rebuilt}\" RENAME TO \"{table}\""),
    ];
    script.extend(indexes);
    script.extend(["COMMIT".to_string(), "PRAGMA foreign_keys = ON".to_string()]);
    db.execute_unprepared(&script.join(";\n")).await?;
    let broken = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if !broken.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} rows break a foreign key after rebuilding {table}",
            broken.len()
        )));
    }
    Ok(())
}
