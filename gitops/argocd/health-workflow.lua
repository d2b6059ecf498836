-- Argo CD health of a stage2.dev Workflow, from the status the operator writes.
-- Order: unobserved spec -> Progressing, Stalled=True -> Degraded,
-- Ready=True -> Healthy, suspended run -> Suspended, anything else -> Progressing.
local health = { status = "Progressing", message = "Waiting for the stage2 operator to observe the Workflow" }
local status = obj.status
if status == nil then
  return health
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  health.message = "The operator has not observed generation " .. tostring(generation) .. " yet"
  return health
end

local conditions = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    conditions[condition.type] = condition
  end
end

local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  return { status = "Degraded", message = stalled.message or status.message or stalled.reason or "" }
end

local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = status.message or ready.message or "" }
end

local reconciling = conditions["Reconciling"]
if reconciling ~= nil and reconciling.reason == "Suspended" then
  return { status = "Suspended", message = status.message or "suspended" }
end

if status.phase == "Failed" or status.phase == "Cancelled" then
  -- Older status without conditions: the phase alone is terminal.
  return { status = "Degraded", message = status.message or status.phase }
end

health.message = status.message or ("phase " .. tostring(status.phase))
return health
