//! Pages of the brand's look and settings.

pub(crate) mod branding;
pub(crate) mod settings;
