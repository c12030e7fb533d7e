from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from prompts.sitemaps import SITEMAPS
from prompts.views import api, health, media, pages, public, search

urlpatterns = [
    path("", search.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("search/", search.search, name="search"),
    path("robots.txt", public.robots_txt, name="robots"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap_index",
    ),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap_section"),
    path("tag/<slug:slug>/", search.tag_page, name="tag"),
    path("generator/<slug:slug>/", search.generator_page, name="generator"),
    path("u/<str:username>/", public.profile_page, name="profile"),
    path("me/retry-all/", public.retry_all_limited, name="retry_all_limited"),
    path("collections/", public.collections, name="collections"),
    path("collections/<int:collection_id>/", public.collection_detail, name="collection_detail"),
    path("prompt/<slug:slug>/like/", public.like, name="prompt_like"),
    path("prompt/<slug:slug>/comments/", public.comment, name="prompt_comment"),
    path("prompt/<slug:slug>/save/", public.save_to_collection, name="prompt_save"),
    path("comments/<int:comment_id>/delete/", public.comment_delete, name="comment_delete"),
    path("upload/", pages.upload_page, name="upload_page"),
    path("upload/submit/", pages.upload_submit, name="upload_submit"),
    path("prompt/processing/<uuid:processing_uuid>/", pages.processing_page, name="processing_page"),
    path("prompt/processing/<uuid:processing_uuid>/cancel/", pages.prompt_cancel, name="prompt_cancel"),
    path("prompt/edit/<uuid:processing_uuid>/", pages.prompt_edit, name="prompt_edit"),
    path("prompt/publish/<uuid:processing_uuid>/", pages.prompt_publish, name="prompt_publish"),
    path("prompt/delete/<uuid:processing_uuid>/", pages.prompt_delete, name="prompt_delete"),
    path("prompt/appeal/<uuid:processing_uuid>/", pages.prompt_appeal, name="prompt_appeal"),
    path("trash/", pages.trash_page, name="trash"),
    path("trash/<int:prompt_id>/restore/", pages.trash_restore, name="trash_restore"),
    path("prompt/<slug:slug>/", public.prompt_detail, name="prompt_detail"),
    path("api/upload/b2/presign/", api.presign, name="api_presign"),
    path("api/upload/b2/complete/", api.complete, name="api_complete"),
    path("api/upload/b2/moderate/", api.moderate, name="api_moderate"),
    path("api/upload/b2/variants/", api.variants, name="api_variants"),
    path("api/upload/b2/finish/", api.finish, name="api_finish"),
    path("api/upload/local/<path:key>", media.local_upload_put, name="local_upload_put"),
    path("api/prompt/status/<uuid:processing_uuid>/", api.prompt_status, name="api_prompt_status"),
    path("api/prompt/retry/<uuid:processing_uuid>/", api.prompt_retry, name="api_prompt_retry"),
]
