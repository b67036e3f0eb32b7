variable "zone_id" {
  description = "Zone id (the zone_id of the environments in this zone)."
  type        = string
}

variable "api_hostnames" {
  description = "The api_hostname of every environment in this zone."
  type        = list(string)
}

variable "zone_plan" {
  description = "The zone's plan: free, pro, business or enterprise (selects valid rate-limit parameters)."
  type        = string
  default     = "free"
}

variable "bot_management_enabled" {
  description = "The zone has Enterprise Bot Management (adds the bot-score rule)."
  type        = bool
  default     = false
}

variable "api_rate_limit_per_minute" {
  description = "Edge rate limit per client IP for /v1/*."
  type        = number
  default     = 600
}
