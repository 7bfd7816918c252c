//! The sandbox's objects as stored and as rendered into the schema's types:
//! product coupons, stocks (alone or in a bundle), user coupons, and the
//! validity and paging rules they share.

pub mod bundle;
pub mod coupon;
pub mod paging;
pub mod period;
pub mod product_coupon;
pub mod stock;
