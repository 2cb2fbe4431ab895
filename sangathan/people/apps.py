from django.apps import AppConfig
from django.db.models.signals import pre_save


class Config(AppConfig):
    name = "sangathan.people"
    label = "people"

    def ready(self):
        from sangathan.people.names import fill_person_name_fields

        # Every ORM save keeps name_latin/name_key in step with name; bulk paths call
        # person_name_fields() themselves.
        pre_save.connect(
            fill_person_name_fields,
            sender="people.Person",
            dispatch_uid="people.fill_person_name_fields",
        )
