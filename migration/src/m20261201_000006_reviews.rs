//! Reviews and wishlists.
//!
//! Design:
//! - One review per customer and product (unique index): a second one is an edit.
//! - `status` is the moderation state (`published` or `hidden`); products' `rating` and
//!   `review_count` are kept equal to the published reviews by the one function that writes
//!   reviews (`models::reviews`), in the same transaction.
//! - A wishlist entry is unique per (user, product): adding twice is not an error.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    Pid,
    ProductId,
    UserId,
    Rating,
    Comment,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WishlistItems {
    Table,
    Id,
    UserId,
    ProductId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reviews::Table)
                .col(pk_auto(Reviews::Id))
                .col(uuid_uniq(Reviews::Pid))
                .col(integer(Reviews::ProductId))
                .col(integer(Reviews::UserId))
                .col(small_integer(Reviews::Rating))
                .col(text(Reviews::Comment).default(""))
                .col(string_len(Reviews::Status, 16).default("published"))
                .col(timestamp_with_time_zone(Reviews::CreatedAt))
                .col(timestamp_with_time_zone(Reviews::UpdatedAt))
                .check(Expr::col(Reviews::Rating).between(1, 5))
                .foreign_key(
                    ForeignKey::create()
                        .from(Reviews::Table, Reviews::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Reviews::Table, Reviews::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reviews_product_user")
                .table(Reviews::Table)
                .col(Reviews::ProductId)
                .col(Reviews::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reviews_product_status")
                .table(Reviews::Table)
                .col(Reviews::ProductId)
                .col(Reviews::Status)
                .col(Reviews::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reviews_user")
                .table(Reviews::Table)
                .col(Reviews::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reviews_status_created")
                .table(Reviews::Table)
                .col(Reviews::Status)
                .col(Reviews::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WishlistItems::Table)
                .col(pk_auto(WishlistItems::Id))
                .col(integer(WishlistItems::UserId))
                .col(integer(WishlistItems::ProductId))
                .col(timestamp_with_time_zone(WishlistItems::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WishlistItems::Table, WishlistItems::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WishlistItems::Table, WishlistItems::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_wishlist_user_product")
                .table(WishlistItems::Table)
                .col(WishlistItems::UserId)
                .col(WishlistItems::ProductId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_wishlist_product")
                .table(WishlistItems::Table)
                .col(WishlistItems::ProductId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WishlistItems::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Reviews::Table).to_owned())
            .await
    }
}
