variable "zone_id" {
  description = "Zone id whose entry-point rulesets this module owns."
  type        = string
}

variable "api_hostnames" {
  description = "Every environment's api hostname in this zone (the api_hostname of each environments/<env>)."
  type        = list(string)
  validation {
    condition     = length(var.api_hostnames) > 0 && length(distinct(var.api_hostnames)) == length(var.api_hostnames)
    error_message = "api_hostnames must list each environment's api hostname once."
  }
}

variable "zone_plan" {
  description = "The zone's Cloudflare plan; selects rate-limit parameters that plan accepts. free is valid on every plan."
  type        = string
  default     = "free"
  validation {
    condition     = contains(["free", "pro", "business", "enterprise"], var.zone_plan)
    error_message = "zone_plan must be free, pro, business or enterprise."
  }
}

variable "bot_management_enabled" {
  description = "The zone has Enterprise Bot Management: adds the bot-score challenge on the API."
  type        = bool
  default     = false
}

variable "bot_score_threshold" {
  description = "Bot score under which API requests are challenged (with bot_management_enabled)."
  type        = number
  default     = 30
  validation {
    condition     = var.bot_score_threshold >= 2 && var.bot_score_threshold <= 99 && floor(var.bot_score_threshold) == var.bot_score_threshold
    error_message = "bot_score_threshold must be a whole number from 2 to 99."
  }
}

variable "api_rate_limit_per_minute" {
  description = "Edge rate limit per client IP for /v1/* before requests reach the Worker (scaled to 10 s on the free plan)."
  type        = number
  default     = 600
  validation {
    condition     = var.api_rate_limit_per_minute >= 6 && floor(var.api_rate_limit_per_minute) == var.api_rate_limit_per_minute
    error_message = "api_rate_limit_per_minute must be a whole number of at least 6 (at least one request per 10 s)."
  }
}
