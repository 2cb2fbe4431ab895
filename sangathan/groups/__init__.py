"""WhatsApp groups: a registry of the groups each unit runs, their admins, expansion targets
and forward tasks (people forward; Sangathan keeps the list and the confirmations)."""
