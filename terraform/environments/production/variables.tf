variable "account_id" {
  description = "Cloudflare account id."
  type        = string
}

variable "zone_id" {
  description = "Zone id."
  type        = string
}

variable "api_hostname" {
  description = "Hostname of the api Worker."
  type        = string
}

variable "admin_email_domain" {
  description = "Email domain allowed into /admin/*."
  type        = string
}

variable "admin_countries" {
  description = "Countries admins may connect from."
  type        = list(string)
  default     = ["US"]
}
