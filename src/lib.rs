//! shoal facade (placeholder until the facade issue).
pub use shoal_core::*;
