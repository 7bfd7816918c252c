//! Budget updates (update-stock-budget, update-stock-bundle-budget): MAX_COUNT
//! or MAX_COUNT_PER_DAY, from the present value (`current_*`, an optimistic
//! check — README #27) to a target no lower than what was issued.

use wechatpay_models::{StockSendRule, UpdateBudgetMode};

use super::Ctx;
use crate::answers::{self, trouble};
use crate::replies::Rejection;

/// The largest budget a stock may have (family README, "Constraints on create objects").
pub const MAX_BUDGET: i64 = 100_000_000;

/// A budget change of update-stock-budget or update-stock-bundle-budget.
pub struct BudgetChange {
    pub mode: UpdateBudgetMode,
    pub current_max_count: Option<i64>,
    pub target_max_count: Option<i64>,
    pub current_max_count_per_day: Option<i64>,
    pub target_max_count_per_day: Option<i64>,
}

impl BudgetChange {
    /// Applies the change to `rule` of a stock that has issued `sent` coupons. The
    /// `current_*` value must be the present one (an optimistic check, README #27).
    pub fn apply(
        &self,
        ctx: &Ctx<'_>,
        rule: &mut StockSendRule,
        sent: i64,
    ) -> Result<(), Rejection> {
        let (field, current, present, target) = match self.mode {
            UpdateBudgetMode::MaxCount => (
                "max_count",
                self.current_max_count,
                Some(rule.max_count),
                self.target_max_count,
            ),
            UpdateBudgetMode::MaxCountPerDay => (
                "max_count_per_day",
                self.current_max_count_per_day,
                rule.max_count_per_day,
                self.target_max_count_per_day,
            ),
            _ => {
                return Err(Rejection::param(
                    "update_mode",
                    "body",
                    "unknown update_mode",
                ));
            }
        };
        if current != present {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "current_{field} is {} but the present {field} is {}",
                    current.map_or("absent".into(), |v| v.to_string()),
                    present.map_or("unset".into(), |v| v.to_string())
                ),
                Some(trouble::ILLEGAL_PARAMETER),
            ));
        }
        let target = target.unwrap_or_default();
        let floor = if self.mode == UpdateBudgetMode::MaxCount {
            sent.max(1)
        } else {
            1
        };
        if !(floor..=MAX_BUDGET).contains(&target) {
            return Err(answers::invalid(
                ctx.info,
                format!("target_{field} {target} is out of range ({floor} to {MAX_BUDGET}; {sent} already issued)"),
                Some(trouble::OUT_OF_RANGE),
            ));
        }
        match self.mode {
            UpdateBudgetMode::MaxCount => rule.max_count = target,
            _ => rule.max_count_per_day = Some(target),
        }
        Ok(())
    }
}
