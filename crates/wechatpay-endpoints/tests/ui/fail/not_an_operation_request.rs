// `Client::execute(&request)` takes its operation from the request type:
// its bounds are these. Only an operation's own request type names one, so
// anything else (here: a response type, and a plain string) is refused at
// compile time, not sent. (That an operation's request compiles without a
// turbofish is pinned by `downstream::the_request_names_its_operation`.)
use wechatpay_endpoints::{Endpoint, OperationRequest};
use wechatpay_models::StockEntity;

fn execute<R, E>(_request: &R) -> &'static str
where
    R: OperationRequest<E>,
    E: Endpoint<Request = R>,
{
    E::INFO.operation_id
}

fn misuse(not_a_request: StockEntity) {
    let _ = execute(&not_a_request);
    let _ = execute(&"send-user-product-coupon");
}

fn main() {}
