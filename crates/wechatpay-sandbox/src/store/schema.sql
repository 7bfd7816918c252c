-- The sandbox's state. Bodies are the schema's own JSON (a ProductCouponEntity,
-- a StockEntity, a coupon's own fields); columns hold what queries, budgets and
-- the state machine need. Times are Unix seconds of the business clock.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- brand_id: the brand it belongs to; provider: the service provider (sp_mchid)
-- that created it, NULL when the brand did (tenancy.rs). Every stock, bundle,
-- code, store, user coupon and pre-send belongs to its product coupon's tenant.
CREATE TABLE IF NOT EXISTS product_coupons (
    id       TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL,
    body     TEXT NOT NULL,
    brand_id TEXT NOT NULL DEFAULT '',
    provider TEXT
);

CREATE TABLE IF NOT EXISTS stocks (
    id                TEXT PRIMARY KEY,
    product_coupon_id TEXT NOT NULL,
    bundle_id         TEXT,
    bundle_index      INTEGER,
    seq               INTEGER NOT NULL,
    state             TEXT NOT NULL,
    end_time          INTEGER,
    sent_total        INTEGER NOT NULL DEFAULT 0,
    sent_day          TEXT NOT NULL DEFAULT '',
    sent_today        INTEGER NOT NULL DEFAULT 0,
    body              TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stocks_by_coupon ON stocks (product_coupon_id, seq);
CREATE INDEX IF NOT EXISTS stocks_by_bundle ON stocks (bundle_id, bundle_index);

CREATE TABLE IF NOT EXISTS stock_bundles (
    id                TEXT PRIMARY KEY,
    product_coupon_id TEXT NOT NULL,
    seq               INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS coupon_codes (
    stock_id TEXT NOT NULL,
    code     TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    issued   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stock_id, code)
);
CREATE INDEX IF NOT EXISTS coupon_codes_available ON coupon_codes (stock_id, issued, seq);

CREATE TABLE IF NOT EXISTS stores (
    stock_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (stock_id, store_id)
);
CREATE INDEX IF NOT EXISTS stores_by_seq ON stores (stock_id, seq);

CREATE TABLE IF NOT EXISTS user_coupons (
    seq               INTEGER PRIMARY KEY,
    code              TEXT NOT NULL,
    openid            TEXT NOT NULL,
    product_coupon_id TEXT NOT NULL,
    stock_id          TEXT NOT NULL,
    user_bundle_id    TEXT,
    state             TEXT NOT NULL,
    valid_begin       INTEGER NOT NULL,
    valid_end         INTEGER NOT NULL,
    body              TEXT NOT NULL,
    -- What became of the coupon's PRODUCT_COUPON.SEND: NULL while it waits in the
    -- outbox (or was never queued: no notify URL), 'delivered' once the notify
    -- URL answered it 2xx, 'dropped' after its last attempt (--confirm-after-notify).
    send_notice       TEXT,
    UNIQUE (stock_id, code)
);
CREATE INDEX IF NOT EXISTS user_coupons_by_user ON user_coupons (openid, code);
CREATE INDEX IF NOT EXISTS user_coupons_by_stock_user ON user_coupons (stock_id, openid);
CREATE INDEX IF NOT EXISTS user_coupons_by_bundle ON user_coupons (user_bundle_id);

-- operation: the brand operation whose request body is kept (a partner twin's
-- brand operation); brand_id / provider: the caller that made it, whom the claim acts for.
CREATE TABLE IF NOT EXISTS pre_sends (
    token     TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    openid    TEXT NOT NULL,
    body      TEXT NOT NULL,
    claimed   INTEGER NOT NULL DEFAULT 0,
    brand_id  TEXT,
    provider  TEXT
);

CREATE TABLE IF NOT EXISTS requests (
    operation TEXT NOT NULL,
    identity  TEXT NOT NULL,
    scope     TEXT NOT NULL,
    number    TEXT NOT NULL,
    digest    BLOB NOT NULL,
    status    INTEGER NOT NULL,
    body      BLOB NOT NULL,
    PRIMARY KEY (operation, identity, scope, number)
);

-- identity: a brand_id (its own URL) or a service provider's mchid (one URL for all its brands).
CREATE TABLE IF NOT EXISTS notify_configs (
    identity    TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    update_time INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS outbox (
    id       INTEGER PRIMARY KEY,
    url      TEXT NOT NULL,
    body     BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_ms   INTEGER NOT NULL,
    -- The user coupon (seq) whose PRODUCT_COUPON.SEND this is; NULL for other events.
    coupon_seq INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_ms);

CREATE TABLE IF NOT EXISTS merchant_stocks (
    id TEXT PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS merchant_coupons (
    stock_id TEXT NOT NULL,
    code     TEXT NOT NULL,
    openid   TEXT NOT NULL,
    PRIMARY KEY (stock_id, code)
);

-- Image-generation tasks of a service provider for a brand (partner only);
-- body: the ImageGenerationTask as queries show it.
CREATE TABLE IF NOT EXISTS image_tasks (
    provider TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    task_id  TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (provider, brand_id, task_id)
);
