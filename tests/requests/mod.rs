mod api_account;
mod api_admin_users;
mod api_auth;
mod api_catalogue;
mod api_conventions;
mod api_images;
mod pages;
mod pages_account;
