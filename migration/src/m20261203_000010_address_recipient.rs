//! Addresses name who receives the parcel (and, optionally, the company): a carrier needs a
//! name on the label, and a customer ships to others (issue 17). Orders keep their addresses
//! as JSON, which simply gains the two fields.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Name,
    Company,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in [Addresses::Name, Addresses::Company] {
            m.alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(string_len(col, 120).default(""))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [Addresses::Company, Addresses::Name] {
            m.alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
