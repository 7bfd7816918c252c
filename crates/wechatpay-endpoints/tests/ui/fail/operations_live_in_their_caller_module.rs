// Operations are reached through the module of who calls them (`brand`, `merchant`),
// never from the crate root: `SendProductCoupon` (merchant) and `SendUserProductCoupon`
// (brand) are told apart by their path.
use wechatpay_endpoints::SendProductCoupon;
use wechatpay_endpoints::SendUserProductCoupon;

fn main() {
    let _ = (SendProductCoupon, SendUserProductCoupon);
}
