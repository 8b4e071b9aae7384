//! Catalogue tables: categories (one level of nesting), brands, tags, products, variants and
//! product images, plus the full-text index.
//!
//! Design:
//! - A variant is what is sold and stocked. `stock` is on hand, `reserved` is held by unpaid
//!   orders; CHECK constraints make a negative or over-reserved level impossible whatever the
//!   application does (the last line of defence against overselling).
//! - `products.price_min_cents` / `price_max_cents` are kept in step with the variants by the
//!   one function that writes variants, so "sort by price" is an index scan, not an aggregate.
//! - Full-text search: SQLite gets an FTS5 table `product_search` keyed by the product rowid;
//!   PostgreSQL a weighted `tsvector` column with a GIN index. Both hold name, SKUs, tags and
//!   description and are rewritten by `models::catalogue::search_index` in the same transaction
//!   as the product.
//! - Foreign keys from products to categories and brands RESTRICT deletes, so removing a
//!   category that still has products is refused by the database, not by a racy check.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Pid,
    Slug,
    Name,
    Description,
    ParentId,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Brands {
    Table,
    Id,
    Pid,
    Slug,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Slug,
    Name,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Pid,
    Slug,
    Sku,
    Name,
    Description,
    SeoTitle,
    SeoDescription,
    CategoryId,
    BrandId,
    Featured,
    Active,
    Options,
    PriceMinCents,
    PriceMaxCents,
    Rating,
    ReviewCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductTags {
    Table,
    ProductId,
    TagId,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
    Pid,
    ProductId,
    Sku,
    Options,
    PriceCents,
    Stock,
    Reserved,
    LowStockThreshold,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
    Pid,
    ProductId,
    Position,
    OriginalKey,
    ContentType,
    Width,
    Height,
    ByteSize,
    Alt,
    Status,
    Renditions,
    CreatedAt,
    UpdatedAt,
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&str],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(Alias::new(*c));
    }
    m.create_index(idx.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(clippy::too_many_lines)]
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(pk_auto(Categories::Id))
                .col(uuid_uniq(Categories::Pid))
                .col(string_len_uniq(Categories::Slug, 120))
                .col(string_len(Categories::Name, 120))
                .col(text(Categories::Description).default(""))
                .col(integer_null(Categories::ParentId))
                .col(integer(Categories::Position).default(0))
                .col(timestamp_with_time_zone(Categories::CreatedAt))
                .col(timestamp_with_time_zone(Categories::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Categories::Table, Categories::ParentId)
                        .to(Categories::Table, Categories::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_categories_parent",
            Categories::Table,
            &["parent_id", "position"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Brands::Table)
                .col(pk_auto(Brands::Id))
                .col(uuid_uniq(Brands::Pid))
                .col(string_len_uniq(Brands::Slug, 120))
                .col(string_len(Brands::Name, 120))
                .col(text(Brands::Description).default(""))
                .col(timestamp_with_time_zone(Brands::CreatedAt))
                .col(timestamp_with_time_zone(Brands::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Tags::Table)
                .col(pk_auto(Tags::Id))
                .col(string_len_uniq(Tags::Slug, 60))
                .col(string_len(Tags::Name, 60))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Products::Table)
                .col(pk_auto(Products::Id))
                .col(uuid_uniq(Products::Pid))
                .col(string_len_uniq(Products::Slug, 160))
                .col(string_len_uniq(Products::Sku, 64))
                .col(string_len(Products::Name, 200))
                .col(text(Products::Description).default(""))
                .col(string_len(Products::SeoTitle, 200).default(""))
                .col(string_len(Products::SeoDescription, 320).default(""))
                .col(integer_null(Products::CategoryId))
                .col(integer_null(Products::BrandId))
                .col(boolean(Products::Featured).default(false))
                .col(boolean(Products::Active).default(true))
                .col(text(Products::Options).default("[]"))
                .col(big_integer(Products::PriceMinCents).default(0))
                .col(big_integer(Products::PriceMaxCents).default(0))
                .col(double(Products::Rating).default(0.0))
                .col(integer(Products::ReviewCount).default(0))
                .col(timestamp_with_time_zone(Products::CreatedAt))
                .col(timestamp_with_time_zone(Products::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Products::Table, Products::CategoryId)
                        .to(Categories::Table, Categories::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Products::Table, Products::BrandId)
                        .to(Brands::Table, Brands::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        // The storefront only ever lists active products; each sort has its own index so a
        // page is an index range scan. Category and brand filters and facets use their own.
        index(
            m,
            "idx_products_active_created",
            Products::Table,
            &["active", "created_at"],
        )
        .await?;
        index(
            m,
            "idx_products_active_price",
            Products::Table,
            &["active", "price_min_cents"],
        )
        .await?;
        index(
            m,
            "idx_products_active_name",
            Products::Table,
            &["active", "name"],
        )
        .await?;
        index(
            m,
            "idx_products_active_rating",
            Products::Table,
            &["active", "rating"],
        )
        .await?;
        index(
            m,
            "idx_products_category",
            Products::Table,
            &["category_id", "active"],
        )
        .await?;
        index(
            m,
            "idx_products_brand",
            Products::Table,
            &["brand_id", "active"],
        )
        .await?;
        index(
            m,
            "idx_products_featured",
            Products::Table,
            &["featured", "active"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProductTags::Table)
                .col(integer(ProductTags::ProductId))
                .col(integer(ProductTags::TagId))
                .primary_key(
                    Index::create()
                        .col(ProductTags::ProductId)
                        .col(ProductTags::TagId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductTags::Table, ProductTags::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductTags::Table, ProductTags::TagId)
                        .to(Tags::Table, Tags::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_product_tags_tag",
            ProductTags::Table,
            &["tag_id", "product_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Variants::Table)
                .col(pk_auto(Variants::Id))
                .col(uuid_uniq(Variants::Pid))
                .col(integer(Variants::ProductId))
                .col(string_len_uniq(Variants::Sku, 64))
                .col(text(Variants::Options).default("{}"))
                .col(big_integer(Variants::PriceCents))
                .col(integer(Variants::Stock).default(0))
                .col(integer(Variants::Reserved).default(0))
                .col(integer(Variants::LowStockThreshold).default(5))
                .col(integer(Variants::Position).default(0))
                .col(timestamp_with_time_zone(Variants::CreatedAt))
                .col(timestamp_with_time_zone(Variants::UpdatedAt))
                .check(Expr::col(Variants::PriceCents).gte(0))
                .check(Expr::col(Variants::Stock).gte(0))
                .check(Expr::col(Variants::Reserved).gte(0))
                .check(Expr::col(Variants::Reserved).lte(Expr::col(Variants::Stock)))
                .foreign_key(
                    ForeignKey::create()
                        .from(Variants::Table, Variants::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_variants_product",
            Variants::Table,
            &["product_id", "position"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProductImages::Table)
                .col(pk_auto(ProductImages::Id))
                .col(uuid_uniq(ProductImages::Pid))
                .col(integer(ProductImages::ProductId))
                .col(integer(ProductImages::Position).default(0))
                .col(string_len(ProductImages::OriginalKey, 300))
                .col(string_len(ProductImages::ContentType, 40))
                .col(integer(ProductImages::Width))
                .col(integer(ProductImages::Height))
                .col(big_integer(ProductImages::ByteSize))
                .col(string_len(ProductImages::Alt, 200).default(""))
                .col(string_len(ProductImages::Status, 16))
                .col(text(ProductImages::Renditions).default("{}"))
                .col(timestamp_with_time_zone(ProductImages::CreatedAt))
                .col(timestamp_with_time_zone(ProductImages::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductImages::Table, ProductImages::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_product_images_product",
            ProductImages::Table,
            &["product_id", "position"],
        )
        .await?;

        let conn = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                conn.execute_unprepared(
                    "ALTER TABLE products ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE INDEX idx_products_search ON products USING GIN (search_vector)",
                )
                .await?;
            }
            _ => {
                // porter stemming over unicode61 tokens: the same English stemming and
                // case/diacritic folding as PostgreSQL's `english` configuration.
                conn.execute_unprepared(
                    "CREATE VIRTUAL TABLE product_search USING fts5(\
                     name, skus, tags, description, tokenize = 'porter unicode61 remove_diacritics 2')",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP TABLE IF EXISTS product_search")
                .await?;
        }
        for t in [
            ProductImages::Table.into_iden(),
            Variants::Table.into_iden(),
            ProductTags::Table.into_iden(),
            Products::Table.into_iden(),
            Tags::Table.into_iden(),
            Brands::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
