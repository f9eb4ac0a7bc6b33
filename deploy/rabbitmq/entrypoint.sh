#!/bin/sh
# Start RabbitMQ in the foreground with the account from the environment.
# RabbitMQ creates that account only when its database is empty, on first start.
set -eu
: "${RABBITMQ_USER:?set RABBITMQ_USER, the account the platform connects with}"
: "${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD; csdp deploy up generates one}"
umask 027
{
    cat /etc/rabbitmq/csdp-base.conf
    printf 'default_user = %s\ndefault_pass = %s\n' "$RABBITMQ_USER" "$RABBITMQ_PASSWORD"
} > /etc/rabbitmq/rabbitmq.conf
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf /var/lib/rabbitmq
exec rabbitmq-server
