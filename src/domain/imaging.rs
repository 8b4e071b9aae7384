//! Product image rules (accepted formats by content, decoder limits, renditions) live in the
//! `emporium-imaging` crate, which development builds compile with optimisations.
pub use emporium_imaging::*;
