-- Replace marts.budget_plan with the plan frame registered as `budget_plan_frame`
-- (columns of models.budget.BudgetPlan.to_frame()), stamped with the window and refresh time.
-- Run after `SET VARIABLE refreshed_at`, `window_start`, `window_end`.
CREATE OR REPLACE TABLE marts.budget_plan AS
SELECT
    f.*,
    getvariable('window_start')::DATE AS window_start,
    getvariable('window_end')::DATE AS window_end,
    getvariable('refreshed_at')::TIMESTAMP AS refreshed_at
FROM budget_plan_frame AS f;
