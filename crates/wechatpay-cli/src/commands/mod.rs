//! One module per subcommand.

pub mod call;
pub mod campaign;
pub mod certificates;
pub mod describe;
pub mod notify;
pub mod pages;
pub mod sandbox;
pub mod sign;
pub mod verify;
