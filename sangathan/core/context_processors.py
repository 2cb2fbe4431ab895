from django.conf import settings


def sangathan(request):
    return {
        "org_name": settings.SANGATHAN_ORG_NAME,
        "grievance_contact": settings.SANGATHAN_GRIEVANCE_CONTACT,
    }
