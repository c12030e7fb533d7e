from django.urls import path

from prompts.views import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("accounts/signup/", pages.signup, name="signup"),
    path("upload/", pages.upload_page, name="upload_page"),
    path("prompt/<slug:slug>/", pages.prompt_detail, name="prompt_detail"),
]
