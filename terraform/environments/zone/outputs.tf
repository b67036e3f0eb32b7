output "ruleset_ids" {
  description = "The zone's entry-point ruleset ids by phase."
  value       = module.zone_rulesets.ruleset_ids
}
