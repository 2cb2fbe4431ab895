"""Hindi first: the interface speaks Hindi unless the user chose English.

Django's LocaleMiddleware follows the browser's Accept-Language, and most phones in India send
``en-IN`` or ``en-US`` whatever their owner reads. So pages follow only the user's own choice
(the language cookie set by the switch at the top of every page) and otherwise Hindi. The
JSON API still honours Accept-Language, which the member app sets deliberately.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

SUPPORTED = {code for code, _ in settings.LANGUAGES}


class HindiFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in SUPPORTED:
            if request.path.startswith("/api/"):
                language = translation.get_language_from_request(request)
            else:
                language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
