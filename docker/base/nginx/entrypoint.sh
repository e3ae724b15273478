#!/bin/sh
# The nginx image's template step: each /etc/nginx/templates/NAME.template becomes
# /etc/nginx/conf.d/NAME with ${VAR} filled in for the variables whose names match
# NGINX_ENVSUBST_FILTER (all when unset); nginx's own $variables stay as they are.
set -eu
filter=${NGINX_ENVSUBST_FILTER:-}
names=$(awk -v filter="$filter" 'END { for (name in ENVIRON) if (name ~ filter) printf "${%s} ", name }' < /dev/null)
for template in /etc/nginx/templates/*.template; do
  [ -f "$template" ] || continue
  output=/etc/nginx/conf.d/$(basename "$template" .template)
  envsubst "$names" < "$template" > "$output"
done
exec "$@"
