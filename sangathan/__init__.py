"""Sangathan: organise a membership organisation from headquarters down to every booth."""
