-- Argo CD health of a stage2.dev Operation. The operator validates each
-- Operation and sets one condition, Ready: True (reason Valid) or False
-- (reason InvalidSpec, with every error in its message).
local health = { status = "Progressing", message = "Waiting for the stage2 operator to validate the Operation" }
local status = obj.status
if status == nil then
  return health
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  health.message = "The operator has not validated generation " .. tostring(generation) .. " yet"
  return health
end

if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Stalled" and condition.status == "True" then
      return { status = "Degraded", message = condition.message or condition.reason or "" }
    end
    if condition.type == "Ready" then
      if condition.status == "True" then
        return { status = "Healthy", message = condition.message or "" }
      end
      if condition.reason == "InvalidSpec" then
        return { status = "Degraded", message = condition.message or "invalid spec" }
      end
      health.message = condition.message or health.message
    end
  end
end
return health
