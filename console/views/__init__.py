"""The console's blueprints: thin views over console's plain modules (figures, dlqview, masking, audit)."""
