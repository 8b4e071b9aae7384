//! Emporium: a shop in one binary. See README.md for the architecture in a few lines.
pub mod app;
pub mod controllers;
pub mod counters;
pub mod domain;
pub mod errors;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod models;
pub mod outbound;
pub mod payments;
pub mod sealing;
pub mod settings;
pub mod storage;
pub mod tasks;
pub mod views;
pub mod web;
